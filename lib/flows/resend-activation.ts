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
import { accountExists, findAccount, latestRegistration, registrationStored, renewal, type Account } from '../storage/accounts.ts';
import { allOf, not, runBatch, softWrites, type Condition, type Database, type Statement } from '../storage/db.ts';
import { chargeMail, markMailRequest } from '../storage/throttle.ts';
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
}

export type ResendOutcome = { kind: 'invalid'; email: string; errors: FieldError[] } | { kind: 'accepted' };

/** How an address stood, for the caller's own mail: its account, and whether it may be mailed. */
export interface Renewal {
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
 * address gets a fresh activation link. The same lookups, the same three allowance statements and
 * the same batch for every address, committing on every branch; only the mail differs. Only a
 * request that would mail is charged (one for an unknown address costs nobody's allowance), and one
 * over an allowance is accepted all the same. The mail goes only once the writes have committed.
 */
export async function renewActivation(
  services: ResendServices,
  key: string,
  display: string,
  clientKey: string,
  now: number,
  { forgot = false, alongside = [], ownMail }: RenewalOptions = {},
): Promise<Renewal> {
  const { db, config, mail, log } = services;
  const account = await findAccount(db, key);
  const pending = await latestRegistration(db, key);
  // The allowances are soft writes and the batch always commits (markMailRequest), so every
  // branch waits for exactly one fsync, the batch's, which takes the allowances to disk with it.
  const mayMail = await chargeMail(softWrites(db), config.throttle, key, clientKey, now, Boolean(account || pending));
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
  return { account, mayMail, renewed: wasRenewed, alongside: done.alongside.map((r) => r.meta.changes), ownMail: ownQueued && { queued: ownQueued, changes: done.own?.meta.changes } };
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
  const { account, mayMail, renewed, ownMail: notice } = await renewActivation(services, key, display, request.clientKey, now, { ownMail });
  if (notice) services.mail.committed(notice.queued, notice.changes, mayMail && account !== null && !renewed);
  services.log('activation_resent', { outcome: renewed ? 'pending' : account ? 'active' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  return { kind: 'accepted' };
}
