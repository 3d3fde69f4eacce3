/**
 * What the owner of an account with TOTP on does about it: turn it off, or replace the recovery
 * codes. Both ask for the password and a code (an authenticator code or a recovery code), so that
 * neither a stolen session nor a stolen password is enough.
 *
 * Turning it off ends every other session of the account (they may have been made by whoever
 * made the owner turn it off) and mails a notice, which commits with the change.
 */
import type { Config } from '../config/config.ts';
import { newRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeDigest } from '../crypto/totp.ts';
import { NOTICE_USEFUL_SECONDS, noticeMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { accountHasHash } from '../storage/accounts.ts';
import { not, runBatch } from '../storage/db.ts';
import { findTotp, removeTotp, replaceRecoveryCodes, totpIsOn, totpOn } from '../storage/mfa.ts';
import { endEverySession } from '../storage/sessions.ts';
import type { LiveSession } from './sessions.ts';
import { requireSecondFactor, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, type PasswordCheckServices } from './password-check.ts';

export interface ManageServices extends PasswordCheckServices, SecondFactorServices {
  config: Pick<Config, 'throttle'>;
  mail: MailQueue;
}

export interface ManageRequest {
  session: LiveSession;
  password: string;
  code: string;
}

type Refusal = { kind: 'wrong' } | { kind: 'wrong-code' } | { kind: 'not-on' } | { kind: 'throttled'; retryAfterSeconds: number };

/** The password, then TOTP on, then the code: the gate both changes pass. */
async function proven(services: ManageServices, request: ManageRequest, now: number): Promise<Refusal | null> {
  const account = request.session.account;
  const check = await checkPassword(services, request.session, request.password, now);
  if (check.kind !== 'right') return check;
  if (!totpIsOn(await findTotp(services.db, account.id))) return { kind: 'not-on' };
  const factor = await requireSecondFactor(services, account, request.code, now);
  return factor.kind === 'right' ? null : factor;
}

export type DisableOutcome = Refusal | { kind: 'disabled'; sessionsEnded: number };

export async function disableTotp(services: ManageServices, request: ManageRequest, now: number): Promise<DisableOutcome> {
  const { db, log, mail } = services;
  const { session } = request;
  const account = session.account;
  const refused = await proven(services, request, now);
  if (refused) return refused;
  const removal = removeTotp(db, account.id, accountHasHash(account.id, account.passwordHash));
  const notice = await mail.queue(noticeMail('second-factor-off', account.email), { now, usefulForSeconds: NOTICE_USEFUL_SECONDS, onlyIf: not(totpOn(account.id)) });
  const done = await runBatch(db, {
    removal,
    sessions: endEverySession(db, account.id, now, { except: session.id, whileHash: account.passwordHash }),
    notice: notice.statement,
  });
  // The first of the removal's statements turns TOTP off; the rest follow it.
  const removed = done.removal[0]?.meta.changes === 1;
  mail.committed(notice, done.notice.meta.changes, removed);
  if (!removed) return { kind: 'not-on' };
  const sessionsEnded = done.sessions.meta.changes;
  log('totp_disabled', { accountId: account.id, session: session.id });
  if (sessionsEnded > 0) log('session_revoked', { accountId: account.id, count: sessionsEnded, reason: 'totp-disabled' });
  return { kind: 'disabled', sessionsEnded };
}

export type RegenerateOutcome = Refusal | { kind: 'replaced'; recoveryCodes: string[] };

export async function regenerateRecoveryCodes(services: ManageServices, request: ManageRequest, now: number): Promise<RegenerateOutcome> {
  const { db, log } = services;
  const account = request.session.account;
  const refused = await proven(services, request, now);
  if (refused) return refused;
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const results = await db.batch(replaceRecoveryCodes(db, account.id, recoveryCodes.map(recoveryCodeDigest), now, accountHasHash(account.id, account.passwordHash)));
  if (results[0]?.meta.changes !== 1) return { kind: 'not-on' };
  log('recovery_codes_replaced', { accountId: account.id, session: request.session.id });
  return { kind: 'replaced', recoveryCodes };
}
