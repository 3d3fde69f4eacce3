/**
 * Asking for a new activation link. The outcome is `accepted` whatever the address is, so it
 * reveals nothing. The new link carries the password of the newest registration for the address;
 * older links keep working until one is used.
 */
import type { Config } from '../config/config.ts';
import type { EventLog } from '../log.ts';
import { activationMail, alreadyActiveMail, type Mail } from '../mail/mail.ts';
import { mailAllowed, type MailQueue, type QueuedMail } from '../mail/outbox.ts';
import { parseEmail } from '../policy/emails.ts';
import { accountExists, accountRead, addressKnown, latestRegistrationRead, registrationStored, renewal, type Account, type Registration } from '../storage/accounts.ts';
import { allOf, not, rowsOf, runBatch, type Condition, type Database, type Statement } from '../storage/db.ts';
import { admitted, mailCharges, mailVerdict, markMailRequest, runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient, type Throttled } from './admission.ts';
import type { FieldError } from './field-error.ts';
import { newLink } from './links.ts';

export interface ResendServices {
  db: Database;
  config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds' | 'throttle'>;
  mail: MailQueue;
  log: EventLog;
}

export interface ResendRequest {
  email: string;
  /** Whose mail allowance the mail is charged to (lib/http/client-address.ts, clientLimitKey). */
  clientKey: string;
  /** The request's hit on its per-client window, carried in the first batch (lib/storage/throttle.ts). */
  admission?: Admission | null;
}

export type ResendOutcome = { kind: 'invalid'; email: string; errors: FieldError[] } | { kind: 'accepted' } | Throttled;

/** How an address stood, for the caller's own mail: its account, and whether it may be mailed. */
export interface Renewal {
  kind: 'renewal';
  account: Account | null;
  mayMail: boolean;
  /** A fresh activation link was stored (and mailed, if it may be): the address is pending. */
  renewed: boolean;
  /** Rows changed by each of the caller's `alongside` statements, in order. */
  alongside: number[];
  /** The caller's own mail and its insert's result, for MailQueue.committed. */
  ownMail: { queued: QueuedMail; changes: number | undefined } | undefined;
}

export interface RenewalOptions {
  /** The request's hit on its per-client window, for the first batch. */
  admission?: Admission | null;
  /** Say, in the mail, that the link answers a forgotten password. */
  forgot?: boolean;
  /** The caller's own writes, committed in one batch with the new link's insert: all or none. */
  alongside?: Statement[];
  /**
   * The caller's own mail, queued in the same batch when `onlyIf` holds at commit and the address
   * may be mailed; `renewed` is a guard the caller can use: a fresh activation link was stored.
   */
  ownMail?: (renewed: Condition, account: Account | null) => { mail: Mail; onlyIf: Condition; usefulForSeconds: number };
}

/**
 * The part of a resend that a forgotten password shares (lib/flows/reset-password.ts): a pending
 * address gets a fresh activation link. Two round trips, the same statements in each for every
 * address, each committing on every branch; only the mail differs. The first reads the address's
 * account and newest registration (whose spellings the mails go to) and charges the client's window
 * and the mail allowances, deciding in SQL (throttle.ts mailCharges()): only a request that would
 * mail is charged (one for an unknown address costs nobody's allowance), and one over an allowance is
 * accepted all the same. The second stores the link and queues the mails. The mail goes only once
 * the writes have committed.
 */
export async function renewActivation(
  services: ResendServices,
  key: string,
  display: string,
  clientKey: string,
  now: number,
  { admission = null, forgot = false, alongside = [], ownMail }: RenewalOptions = {},
): Promise<Renewal | Throttled> {
  const { db, config, mail, log } = services;
  // The allowances are soft writes, as the window is, and the second batch always commits
  // (markMailRequest), so every branch waits for exactly one fsync, the second batch's, which takes
  // the first one's writes to disk with it.
  const first = await runAdmitted(
    db,
    admission,
    {
      account: accountRead(db, key),
      pending: latestRegistrationRead(db, key),
      ...mailCharges(db, config.throttle, key, clientKey, now, { mails: addressKnown(key), admits: admitted(admission) }).charges,
    },
    { soft: true },
  );
  const refused = refusedClient(first.verdict, log);
  if (refused) return refused;
  const account = rowsOf<Account>(first.done.account)[0] ?? null;
  const pending = rowsOf<Registration>(first.done.pending)[0] ?? null;
  const mayMail = mailVerdict(config.throttle, first.done, Boolean(account || pending));
  if (!mayMail && (account || pending)) log('throttled', { rule: 'mail' });
  const link = newLink(config, now);
  // Both mails are sealed and queued on every branch, each guarded in SQL, so an unknown address
  // costs what a known one does; only the guards, decided at commit, differ.
  const allowed = mailAllowed(mayMail);
  const renewed = registrationStored(link.tokenHash);
  const letter = activationMail(pending?.email ?? display, link.url, config.tokenTtlSeconds, forgot);
  const activation = await mail.queue(letter, { now, usefulForSeconds: config.tokenTtlSeconds, onlyIf: allOf(allowed, renewed) });
  const own = ownMail?.(renewed, account);
  const ownQueued: QueuedMail | undefined = own && (await mail.queue(own.mail, { now, usefulForSeconds: own.usefulForSeconds, onlyIf: allOf(allowed, own.onlyIf) }));
  // The mails last, so that their guards see the batch's other writes; markMailRequest makes the
  // batch commit (and fsync) on every branch, the unknown address's too.
  const done = await runBatch(db, {
    renewal: renewal(db, key, link),
    alongside,
    mark: markMailRequest(db, now),
    activation: activation.statement,
    own: ownQueued?.statement,
  });
  const wasRenewed = done.renewal.meta.changes === 1;
  mail.committed(activation, done.activation.meta.changes, mayMail && wasRenewed);
  return { kind: 'renewal', account, mayMail, renewed: wasRenewed, alongside: done.alongside.map((r) => r.meta.changes), ownMail: ownQueued && { queued: ownQueued, changes: done.own?.meta.changes } };
}

export async function resendActivation(services: ResendServices, request: ResendRequest, now: number): Promise<ResendOutcome> {
  const parsed = parseEmail(request.email);
  if (!parsed.ok) return { kind: 'invalid', email: request.email, errors: [{ pointer: '/email', detail: parsed.detail }] };
  const { key, display } = parsed.email;
  // An active address gets "already active" instead of a link: guarded on the account, and on no
  // link having been renewed.
  const ownMail = (renewed: Condition, account: Account | null) => ({
    mail: alreadyActiveMail(account?.email ?? display),
    onlyIf: allOf(not(renewed), accountExists(key)),
    usefulForSeconds: services.config.tokenTtlSeconds,
  });
  const done = await renewActivation(services, key, display, request.clientKey, now, { admission: request.admission ?? null, ownMail });
  if (done.kind === 'throttled') return done;
  const { account, mayMail, renewed, ownMail: notice } = done;
  if (notice) services.mail.committed(notice.queued, notice.changes, mayMail && account !== null && !renewed);
  services.log('activation_resent', { outcome: renewed ? 'pending' : account ? 'active' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  return { kind: 'accepted' };
}
