/**
 * Closing an account: its password again (charged like a login, lib/flows/password-check.ts),
 * then one batch that removes the account and everything kept about it and its address — sessions,
 * devices, registrations, throttle rows — so that nothing of it remains and the address can be
 * registered anew at once. A notice goes to the address.
 */
import { NOTICE_USEFUL_SECONDS, noticeMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { accountDeleted, deleteAccountStatements } from '../storage/account-changes.ts';
import { accountExists } from '../storage/accounts.ts';
import { not, runBatch } from '../storage/db.ts';
import type { Config } from '../config/config.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { Account } from '../storage/accounts.ts';
import { notOpened, openSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';
import { factorOutcome, factorReads, factorSpent, proveSecondFactor, refuseFactor, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, sessionCharge, type PasswordCheckServices } from './password-check.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';

export interface DeleteAccountServices extends PasswordCheckServices, SecondFactorServices, SessionServices {
  config: Pick<Config, 'throttle' | 'sessions'>;
  mail: MailQueue;
  /** The host's; onAccountDeleted hears of the deletion once it has committed. */
  hooks?: AccountHooks;
}

export type DeleteAccountOutcome = { kind: 'deleted' } | { kind: 'wrong' } | { kind: 'wrong-code' } | { kind: 'throttled'; retryAfterSeconds: number } | Unauthenticated;

/** `code`: with TOTP on, an authenticator or recovery code (lib/flows/mfa-check.ts). */
export async function deleteAccount(services: DeleteAccountServices, bearer: PresentedSession, password: string, now: number, code?: string): Promise<DeleteAccountOutcome> {
  const { db, log, mail, config } = services;
  refuseWhenBusy(services.hasher);
  // The first trip: the window, the session, its charge and the second factor's rows.
  const opened = await openSession(services, bearer, now, (gate) => ({ ...sessionCharge(services, gate, now), ...factorReads(db, gate) }));
  if (!opened.ok) return notOpened(opened);
  const { session, done: first } = opened;
  const account = session.account;
  const check = await checkPassword(services, session, password, first, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on, whatever else a check might say.
  if (check.kind !== 'right') {
    log('account_delete_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  const proof = await proveSecondFactor(services, account.id, first, code, now);
  if (proof.kind === 'wrong') return codeRefused(services, account, proof.reason, now);
  // The second trip: the code spent (the deletion holds only if it was still unspent), the
  // deletion, and the notice, which commits with it only if it did (the account is gone).
  const factor = factorOutcome(db, proof, account, config.throttle.loginFailures, now);
  const notice = await mail.queue(noticeMail('account-deleted', account.email), {
    now,
    usefulForSeconds: NOTICE_USEFUL_SECONDS,
    onlyIf: not(accountExists(account.emailKey)),
  });
  const done = await runBatch(db, { factor: factor.first, deletion: deleteAccountStatements(db, account, factor.holds), notice: notice.statement, unmark: factor.last });
  const deleted = accountDeleted(done.deletion);
  mail.committed(notice, done.notice.meta.changes, deleted);
  if (!factor.spent(done.factor)) return codeRefused(services, account, 'code', now, true);
  factorSpent(services, account.id, proof);
  if (!deleted) {
    // The password changed in between: the one verified no longer opens the account.
    log('account_delete_failed', { accountId: account.id, reason: 'concurrent' });
    return { kind: 'wrong' };
  }
  log('session_ended', { accountId: account.id, reason: 'account-deleted' });
  log('account_deleted', { accountId: account.id });
  await afterCommit(services.hooks, 'onAccountDeleted', () => ({ id: account.id, email: account.email }), log);
  return { kind: 'deleted' };
}

async function codeRefused(services: DeleteAccountServices, account: Account, reason: 'missing' | 'code', now: number, counted = false): Promise<DeleteAccountOutcome> {
  const refused = await refuseFactor(services, account, reason, now, counted);
  services.log('account_delete_failed', { accountId: account.id, reason: 'code' });
  return refused;
}
