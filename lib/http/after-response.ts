/**
 * Work that must not hold up the response: on Workers it goes to waitUntil, so the runtime keeps
 * the isolate alive for it; on Node there is no execution context (Hono throws when asked), and the
 * event loop keeps the promise alive.
 */
import { courierOf } from '../deps.ts';
import { claimMs, deliverQueued } from '../mail/courier.ts';
import { mailQueue, type MailQueue } from '../mail/outbox.ts';
import type { AppContext } from './context.ts';

/**
 * By default `work` starts on the next turn of the event loop, once the handler has returned its
 * answer, so the answer goes out before the work's first statement runs, and a request that
 * queued mail costs its client no more than one that did not.
 */
const nextTurn = (work: () => Promise<unknown>) => new Promise((resolve) => setTimeout(resolve, 0)).then(work);

function afterResponse(c: AppContext, work: () => Promise<unknown>): void {
  const start = c.get('deps').later ?? nextTurn;
  const settled = start(work).catch(() => undefined);
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    void settled;
  }
}

/** The outbox for this request's flow: what it queues is sent after the answer has gone. */
export function mailQueueFor(c: AppContext): MailQueue {
  const deps = c.get('deps');
  return mailQueue({
    db: deps.db,
    sealer: deps.sealer,
    capacity: deps.config.mail.outboxCapacity,
    firstSendMs: claimMs(deps.config.mail.timeoutMs),
    log: c.get('log'),
    send: (id) => afterResponse(c, () => deliverQueued({ ...courierOf(deps), log: c.get('log') }, id, { first: true })),
  });
}

