/**
 * Handing a mail to the sink without letting the sink reach the request: the sink may throw,
 * reject or never settle, and the answer goes out all the same. A sink that has not settled after
 * the timeout is given up on, so that a hanging mailer holds a timer and a promise per mail for
 * that long at most, not for ever (the person can ask for a new link).
 */
import type { EventLog } from '../log.ts';
import type { Mail, MailSink } from './mail.ts';

/** The mail sink did not finish within config.mailTimeoutMs. */
export class MailTimeoutError extends Error {
  override name = 'MailTimeoutError';
}

/** What a flow is given to send mail with: it queues the mail and returns at once. */
export type SendMail = (mail: Mail) => void;

/** Delivers one mail; settles (never rejects) when the sink is done, has failed, or timed out. */
export function deliver(sink: MailSink, mail: Mail, timeoutMs: number, log: EventLog): Promise<void> {
  let sending: Promise<void>;
  try {
    sending = sink.send(mail);
  } catch (error) {
    sending = Promise.reject(error);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MailTimeoutError()), timeoutMs);
    // On Node a pending mail must not keep a stopping server alive.
    (timer as { unref?: () => void }).unref?.();
  });
  return Promise.race([sending, timeout])
    .catch((error: unknown) => {
      log('mail_failed', { template: mail.template, reason: error instanceof Error ? error.name : 'unknown' });
    })
    .finally(() => clearTimeout(timer));
}
