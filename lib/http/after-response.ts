/**
 * Work that must not hold up the response: on Workers it goes to waitUntil, so the runtime keeps
 * the isolate alive for it; on Node there is no execution context (Hono throws when asked), and the
 * event loop keeps the promise alive.
 */
import { courierOf } from '../deps.ts';
import { claimMs, deliverQueued } from '../mail/courier.ts';
import type { Deps } from '../deps.ts';
import type { EventLog } from '../log.ts';
import { mailQueue, type MailQueue } from '../mail/outbox.ts';
import type { AppContext } from './context.ts';

/**
 * By default `work` starts on the next turn of the event loop, once the handler has returned its
 * answer, so the answer goes out before the work's first statement runs, and a request that
 * queued mail costs its client no more than one that did not.
 */
const nextTurn = (work: () => Promise<unknown>) => new Promise((resolve) => setTimeout(resolve, 0)).then(work);

/** Hands the promise of work after the answer to the runtime (a Worker's waitUntil), if there is one. */
export type KeepAlive = (settled: Promise<unknown>) => void;

function afterResponse(deps: Deps, keepAlive: KeepAlive | undefined, work: () => Promise<unknown>): void {
  const start = deps.later ?? nextTurn;
  const settled = start(work).catch(() => undefined);
  keepAlive?.(settled);
}

/** On Node there is no execution context (Hono throws when asked for it). */
function waitUntilOf(c: AppContext): KeepAlive | undefined {
  try {
    const context = c.executionCtx;
    return (settled) => context.waitUntil(settled);
  } catch {
    return undefined;
  }
}

/**
 * The outbox for one flow's call: what it queues is sent after the call has answered, by the
 * courier through deps.later, whether the call came over HTTP or through the api.
 */
export function mailQueueOf(deps: Deps, log: EventLog, keepAlive?: KeepAlive): MailQueue {
  return mailQueue({
    db: deps.db,
    sealer: deps.sealer,
    capacity: deps.config.mail.outboxCapacity,
    firstSendMs: claimMs(deps.config.mail.timeoutMs),
    log,
    send: (id) => afterResponse(deps, keepAlive, () => deliverQueued({ ...courierOf(deps), log }, id, { first: true })),
  });
}

/** The outbox for this request's flow: what it queues is sent after the answer has gone. */
export function mailQueueFor(c: AppContext): MailQueue {
  return mailQueueOf(c.get('deps'), c.get('log'), waitUntilOf(c));
}

