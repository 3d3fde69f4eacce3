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
import { findAccount, latestRegistration, renewRegistration } from '../storage/accounts.ts';
import type { Database } from '../storage/db.ts';
import { chargeMail } from '../storage/throttle.ts';
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

export async function resendActivation(services: ResendServices, request: ResendRequest, now: number): Promise<ResendOutcome> {
  const { db, config, sendMail, log } = services;
  const parsed = parseEmail(request.email);
  if (!parsed.ok) return { kind: 'invalid', email: request.email, errors: [{ pointer: '/email', detail: parsed.detail }] };
  const key = parsed.email.key;

  // The same lookups, the same two allowance statements and the same guarded insert for every
  // address; only the mail differs. Only a request that would mail is charged (a resend for an
  // unknown address costs nobody's allowance), and one over an allowance is accepted all the same.
  const account = await findAccount(db, key);
  const pending = await latestRegistration(db, key);
  const mayMail = await chargeMail(db, config.throttle, key, request.clientKey, now, Boolean(account || pending));
  if (!mayMail && (account || pending)) log('throttled', { rule: 'mail' });
  const link = newLink(config, now);
  const renewed = await renewRegistration(db, key, link);
  if (mayMail && renewed && pending) {
    sendMail(activationMail(pending.email, link.url, config.tokenTtlSeconds));
  } else if (mayMail && account) {
    sendMail(alreadyActiveMail(account.email));
  }
  log('activation_resent', { outcome: renewed ? 'pending' : account ? 'active' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  return { kind: 'accepted' };
}
