/**
 * Changing the password of a logged-in account: the current password again (charged to the
 * session's own back-off and counted toward the address's: lib/flows/password-check.ts), a new one that passes the policy of
 * registration, then one batch — the new hash, every other session of the account ended, the
 * back-off cleared — and a notice to the address. The asking session stays: the person changing
 * their password is the one who should not be thrown out.
 */
import type { Config } from '../config/config.ts';
import { NOTICE_USEFUL_SECONDS, noticeMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { changePasswordBatch } from '../storage/account-changes.ts';
import { accountHasHash } from '../storage/accounts.ts';
import { runBatch } from '../storage/db.ts';
import type { LiveSession } from './sessions.ts';
import type { FieldError } from './field-error.ts';
import { requireSecondFactor, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, type PasswordCheckServices } from './password-check.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';

export interface ChangePasswordServices extends PasswordCheckServices, ChosenPasswordServices, SecondFactorServices {
  config: Pick<Config, 'throttle' | 'passwordPolicy'>;
  mail: MailQueue;
  /** The host's; onPasswordChanged hears of the change once it has committed. */
  hooks?: AccountHooks;
}

export interface ChangePasswordRequest {
  session: LiveSession;
  currentPassword: string;
  newPassword: string;
  /** With TOTP on: an authenticator or recovery code (lib/flows/mfa-check.ts). */
  code?: string | undefined;
}

export type ChangePasswordOutcome =
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'wrong' }
  | { kind: 'wrong-code' }
  | { kind: 'changed'; sessionsEnded: number };

export async function changePassword(services: ChangePasswordServices, request: ChangePasswordRequest, now: number): Promise<ChangePasswordOutcome> {
  const { db, hasher, config, log, mail } = services;
  const { session } = request;
  const account = session.account;
  const weak = await chosenPasswordProblems(services, request.newPassword, account.emailKey, config.passwordPolicy);
  if (weak.length > 0) return { kind: 'invalid', errors: weak.map((detail) => ({ pointer: '/newPassword', detail })) };

  const check = await checkPassword(services, session, request.currentPassword, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on, whatever else a check might say.
  if (check.kind !== 'right') {
    log('password_change_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  const factor = await requireSecondFactor(services, account, request.code, now);
  if (factor.kind !== 'right') {
    log('password_change_failed', { accountId: account.id, reason: 'code' });
    return factor;
  }
  const newHash = await hasher.hash(request.newPassword);
  const batch = changePasswordBatch(db, { account, sessionId: session.id, newHash }, now);
  // The notice commits with the change, only if the change did (the account has the new hash).
  const notice = await mail.queue(noticeMail('password-changed', account.email), {
    now,
    usefulForSeconds: NOTICE_USEFUL_SECONDS,
    onlyIf: accountHasHash(account.id, newHash),
  });
  const done = await runBatch(db, { change: batch.statements, notice: notice.statement });
  const { changed, sessionsEnded } = batch.changed(done.change);
  mail.committed(notice, done.notice.meta.changes, changed);
  if (!changed) {
    // Another change (or a logout of this session) came first: the password verified is no longer
    // the account's, and nothing was written.
    log('password_change_failed', { accountId: account.id, reason: 'concurrent' });
    return { kind: 'wrong' };
  }
  log('password_changed', { accountId: account.id, session: session.id });
  if (sessionsEnded > 0) log('session_revoked', { accountId: account.id, count: sessionsEnded, reason: 'password-changed' });
  await afterCommit(services.hooks, 'onPasswordChanged', () => account, log);
  return { kind: 'changed', sessionsEnded };
}
