/**
 * The courier: takes mails out of the outbox and hands them to the transport. One send per claim
 * (lib/storage/outbox.ts, claim), so two couriers never send the same row at once; the row is
 * deleted once the transport has accepted the mail, retried with doubling delays when it failed,
 * and given up (`mail_given_up`) when the far side refused it for good or its link would have
 * expired before the next try. A crash between the transport's acceptance and the delete sends the
 * mail again once the claim runs out: a second copy of a mail is better than none.
 */
import type { Sealer } from '../crypto/seal.ts';
import type { EventLog } from '../log.ts';
import type { Database } from '../storage/db.ts';
import { claim, dueIds, removeRow, retryAt, type OutboxRow } from '../storage/outbox.ts';
import { MAX_RETRY_DELAY_SECONDS, type MailSettings } from '../config/mail-settings.ts';
import type { Mail } from './mail.ts';
import type { Mailbox } from './mailbox.ts';
import { renderMail } from './render.ts';
import { MailRefusedError, MailTransportError, type MailTransport, type OutgoingMail } from './transport.ts';

export interface CourierServices {
  db: Database;
  sealer: Sealer;
  transport: MailTransport;
  settings: Pick<MailSettings, 'from' | 'appName' | 'timeoutMs' | 'retrySeconds'>;
  log: EventLog;
  now: () => number;
  /** Development mode: every mail sent is kept for GET /dev/mail. */
  mailbox?: Mailbox | undefined;
}

/** The transport did not finish within MAIL_TIMEOUT_MS. */
export class MailTimeoutError extends Error {
  override name = 'MailTimeoutError';
}

/** How long a claim holds a row beyond the send's own time limit: the delete after it, say. */
const CLAIM_MARGIN_MS = 5_000;

/**
 * How long a claim holds a row: a send's time limit and the margin. A new row waits as long for
 * its request's own send before a timer or cron takes it (on Workers another isolate, which with
 * the log transport's isolate key could not even open it).
 */
export const claimMs = (timeoutMs: number) => timeoutMs + CLAIM_MARGIN_MS;
/** Rows one drain takes on; the next timer tick or cron run takes the rest. */
const OUTBOX_DRAIN_BATCH = 50;

/** How often the Node server looks for due mail: often enough that a retry waits little past its delay. */
export const outboxTickMs = (retrySeconds: number) => Math.max(1, Math.min(retrySeconds, 10) / 2) * 1000;

/** Resolves when the transport accepted the mail; rejects when it failed, refused, or took too long. */
async function sendWithin(transport: MailTransport, mail: OutgoingMail, timeoutMs: number): Promise<void> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new MailTimeoutError());
    }, timeoutMs);
    // On Node a pending mail must not keep a stopping server alive.
    (timer as { unref?: () => void }).unref?.();
  });
  try {
    // A transport may throw before it returns a promise, or ignore the signal: both end up here.
    await Promise.race([Promise.resolve().then(() => transport.send(mail, controller.signal)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const retryDelayMs = (retrySeconds: number, attempts: number) =>
  Math.min(retrySeconds * 2 ** Math.max(0, attempts - 1), MAX_RETRY_DELAY_SECONDS) * 1000;

type Fate = 'sent' | 'retry' | 'given-up' | 'skipped';

async function open(services: CourierServices, row: OutboxRow): Promise<Mail | null> {
  try {
    return JSON.parse(await services.sealer.open(row.sealed, row.id)) as Mail;
  } catch {
    return null;
  }
}

/**
 * One send of one outbox row, if it is due (or, `first`, never tried: the request's own send) and
 * no other courier holds it. Never rejects.
 */
export async function deliverQueued(services: CourierServices, id: string, { first = false } = {}): Promise<Fate> {
  const { db, transport, settings, log } = services;
  try {
    const claimedAt = services.now();
    const row = await claim(db, id, claimedAt, claimedAt + claimMs(settings.timeoutMs), first);
    if (!row) return 'skipped';
    const about = { template: row.template, domain: row.domain, outbox: row.id };
    const mail = await open(services, row);
    if (!mail) {
      // Sealed under another DATA_KEY (the key changed, or an isolate's own key on Workers is gone).
      await removeRow(db, row.id);
      log('mail_given_up', { ...about, reason: 'unreadable', attempts: row.attempts });
      return 'given-up';
    }
    try {
      await sendWithin(transport, renderMail(mail, settings, row.id), settings.timeoutMs);
    } catch (error) {
      const reason = error instanceof Error ? error.name : 'unknown';
      // Our transports word their failures for the log; anything else says only what it was.
      const detail = error instanceof MailTransportError ? { detail: error.message.slice(0, 300) } : {};
      const next = services.now() + retryDelayMs(settings.retrySeconds, row.attempts);
      if (error instanceof MailRefusedError || next >= row.giveUpAt) {
        await removeRow(db, row.id);
        log('mail_given_up', { ...about, reason: error instanceof MailRefusedError ? 'refused' : 'expired', attempts: row.attempts, ...detail });
        return 'given-up';
      }
      await retryAt(db, row.id, next);
      log('mail_failed', { ...about, reason, attempts: row.attempts, retryAt: new Date(next).toISOString(), ...detail });
      return 'retry';
    }
    await removeRow(db, row.id);
    services.mailbox?.keep(mail, services.now());
    // The log transport's own line is the mail; any other transport's is this, without the link.
    if (transport.name !== 'log') log('mail', { ...about, transport: transport.name });
    return 'sent';
  } catch (error) {
    // The database failed around the send; the row is due again once its claim runs out.
    log('mail_outbox_failed', { outbox: id, reason: error instanceof Error ? error.name : 'unknown' });
    return 'skipped';
  }
}

/**
 * Sends what is due: run by the Node server's timer and the Workers cron, and at start, so that a
 * mail whose first send failed, or whose server died before sending it, goes out without a request.
 */
export async function drainOutbox(services: CourierServices, trigger?: 'timer' | 'cron'): Promise<Drained> {
  const counts: Record<Fate, number> = { sent: 0, retry: 0, 'given-up': 0, skipped: 0 };
  let ids: string[];
  try {
    ids = await dueIds(services.db, services.now(), OUTBOX_DRAIN_BATCH);
  } catch (error) {
    services.log('mail_outbox_failed', { reason: error instanceof Error ? error.name : 'unknown' });
    return { ...counts, more: false };
  }
  for (const id of ids) counts[await deliverQueued(services, id)]++;
  // A drain that did something says so, once, for whichever entry ran it.
  if (trigger && counts.sent + counts.retry + counts['given-up'] > 0) services.log('outbox_drained', { ...counts, trigger });
  return { ...counts, more: ids.length === OUTBOX_DRAIN_BATCH };
}

/** What one drain did with each row it took, and whether it took a full batch (more may be due). */
export type Drained = Record<Fate, number> & { more: boolean };
