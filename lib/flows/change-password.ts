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
import type { Account } from '../storage/accounts.ts';
import { passwordProblems } from '../policy/password-policy.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import { notOpened, openSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';
import type { FieldError } from './field-error.ts';
import { factorOutcome, factorReads, factorSpent, proveSecondFactor, refuseFactor, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, sessionCharge, type PasswordCheckServices } from './password-check.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';

export interface ChangePasswordServices extends PasswordCheckServices, ChosenPasswordServices, SecondFactorServices, SessionServices {
  config: Pick<Config, 'throttle' | 'passwordPolicy' | 'sessions'>;
  mail: MailQueue;
  /** The host's; onPasswordChanged hears of the change once it has committed. */
  hooks?: AccountHooks;
}

export interface ChangePasswordRequest {
  /** The bearer token, checked in the flow's first batch (lib/flows/sessions.ts openSession). */
  bearer: PresentedSession;
  currentPassword: string;
  newPassword: string;
  /** With TOTP on: an authenticator or recovery code (lib/flows/mfa-check.ts). */
  code?: string | undefined;
}

export type ChangePasswordOutcome =
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | Unauthenticated
  | { kind: 'wrong' }
  | { kind: 'wrong-code' }
  | { kind: 'changed'; sessionsEnded: number };

const invalid = (problems: string[]): ChangePasswordOutcome => ({ kind: 'invalid', errors: problems.map((detail) => ({ pointer: '/newPassword', detail })) });

export async function changePassword(services: ChangePasswordServices, request: ChangePasswordRequest, now: number): Promise<ChangePasswordOutcome> {
  const { db, hasher, config, log, mail } = services;
  // The rules that need no account first, so that a weak password costs no trip and no charge; the
  // breached-password lookup waits for a live session, so that no stranger's request makes one.
  const offline = passwordProblems(request.newPassword, null, config.passwordPolicy);
  if (offline.length > 0) return invalid(offline);
  refuseWhenBusy(hasher);
  // The first trip: the window, the session, its charge and the second factor's rows.
  const opened = await openSession(services, request.bearer, now, (gate) => ({ ...sessionCharge(services, gate, now), ...factorReads(db, gate) }));
  if (!opened.ok) return notOpened(opened);
  const { session, done: first } = opened;
  const account = session.account;
  // The address is known now: the rule against the password being it, and the breach lookup. The
  // session's charge stands (cleared by the next success, as after a wrong password).
  const weak = await chosenPasswordProblems(services, request.newPassword, account.emailKey, config.passwordPolicy);
  if (weak.length > 0) return invalid(weak);

  const check = await checkPassword(services, session, request.currentPassword, first, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on, whatever else a check might say.
  if (check.kind !== 'right') {
    log('password_change_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  const proof = await proveSecondFactor(services, account.id, first, request.code, now);
  if (proof.kind === 'wrong') return codeRefused(services, account, proof.reason, now);
  const newHash = await hasher.hash(request.newPassword);
  // The second trip: the code spent (the change holds only if it was still unspent), the change, the notice.
  const factor = factorOutcome(db, proof, account, config.throttle.loginFailures, now);
  const batch = changePasswordBatch(db, { account, sessionId: session.id, newHash, onlyIf: factor.holds }, now);
  // The notice commits with the change, only if the change did (the account has the new hash).
  const notice = await mail.queue(noticeMail('password-changed', account.email), {
    now,
    usefulForSeconds: NOTICE_USEFUL_SECONDS,
    onlyIf: accountHasHash(account.id, newHash),
  });
  const done = await runBatch(db, { factor: factor.first, change: batch.statements, notice: notice.statement, unmark: factor.last });
  const { changed, sessionsEnded } = batch.changed(done.change);
  mail.committed(notice, done.notice.meta.changes, changed);
  if (!factor.spent(done.factor)) return codeRefused(services, account, 'code', now, true);
  factorSpent(services, account.id, proof);
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

async function codeRefused(services: ChangePasswordServices, account: Account, reason: 'missing' | 'code', now: number, counted = false): Promise<ChangePasswordOutcome> {
  const refused = await refuseFactor(services, account, reason, now, counted);
  services.log('password_change_failed', { accountId: account.id, reason: 'code' });
  return refused;
}
