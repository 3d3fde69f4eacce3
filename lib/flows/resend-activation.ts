/**
 * Asking for a new activation link. The outcome is `accepted` whatever the address is, so it
 * reveals nothing. The new link carries the password of the newest registration for the address;
 * older links keep working until one is used.
 */
import type { Config } from '../config/config.ts';
import type { EventLog } from '../log.ts';
import type { SendMail } from '../mail/delivery.ts';
import { activationMail, alreadyActiveMail } from '../mail/mail.ts';
import { parseEmail } from '../policy/emails.ts';
import { findAccount, latestRegistration, renewal, type Account } from '../storage/accounts.ts';
import { softWrites, type Database, type Statement } from '../storage/db.ts';
import { chargeMail, markMailRequest } from '../storage/throttle.ts';
import type { FieldError } from './field-error.ts';
import { newLink } from './links.ts';

export interface ResendServices {
  db: Database;
  config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds' | 'throttle'>;
  sendMail: SendMail;
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
}

export interface RenewalOptions {
  /** Say, in the mail, that the link answers a forgotten password. */
  forgot?: boolean;
  /** The caller's own writes, committed in one batch with the new link's insert: all or none. */
  alongside?: Statement[];
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
  clientKey: string,
  now: number,
  { forgot = false, alongside = [] }: RenewalOptions = {},
): Promise<Renewal> {
  const { db, config, sendMail, log } = services;
  const account = await findAccount(db, key);
  const pending = await latestRegistration(db, key);
  // The allowances are soft writes and the batch always commits (markMailRequest), so every
  // branch waits for exactly one fsync, the batch's, which takes the allowances to disk with it.
  const mayMail = await chargeMail(softWrites(db), config.throttle, key, clientKey, now, Boolean(account || pending));
  if (!mayMail && (account || pending)) log('throttled', { rule: 'mail' });
  const link = newLink(config, now);
  const [renewedRows, ...others] = await db.batch([renewal(db, key, link), ...alongside, markMailRequest(db, now)]);
  const renewed = renewedRows?.meta.changes === 1;
  if (mayMail && renewed && pending) sendMail(activationMail(pending.email, link.url, config.tokenTtlSeconds, forgot));
  return { account, mayMail, renewed, alongside: others.slice(0, alongside.length).map((r) => r.meta.changes) };
}

export async function resendActivation(services: ResendServices, request: ResendRequest, now: number): Promise<ResendOutcome> {
  const parsed = parseEmail(request.email);
  if (!parsed.ok) return { kind: 'invalid', email: request.email, errors: [{ pointer: '/email', detail: parsed.detail }] };
  const { account, mayMail, renewed } = await renewActivation(services, parsed.email.key, request.clientKey, now);
  if (mayMail && account && !renewed) services.sendMail(alreadyActiveMail(account.email));
  services.log('activation_resent', { outcome: renewed ? 'pending' : account ? 'active' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  return { kind: 'accepted' };
}
