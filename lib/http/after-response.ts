/**
 * Work that must not hold up the response: on Workers it goes to waitUntil, so the runtime keeps
 * the isolate alive for it; on Node there is no execution context (Hono throws when asked), and the
 * event loop keeps the promise alive.
 */
import { deliver, type SendMail } from '../mail/delivery.ts';
import type { AppContext } from './context.ts';

function afterResponse(c: AppContext, work: Promise<unknown>): void {
  const settled = work.catch(() => undefined);
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    void settled;
  }
}

/** Mail for this request, delivered after the answer has gone (lib/mail/delivery.ts). */
export function mailAfterResponse(c: AppContext): SendMail {
  const { mail, config } = c.get('deps');
  return function sendAfterResponse(message) {
    afterResponse(c, deliver(mail, message, config.mailTimeoutMs, c.get('log')));
  };
}
