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
import type { LiveSession } from './sessions.ts';
import { requireSecondFactor, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, type PasswordCheckServices } from './password-check.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';

export interface DeleteAccountServices extends PasswordCheckServices, SecondFactorServices {
  mail: MailQueue;
  /** The host's; onAccountDeleted hears of the deletion once it has committed. */
  hooks?: AccountHooks;
}

export type DeleteAccountOutcome = { kind: 'deleted' } | { kind: 'wrong' } | { kind: 'wrong-code' } | { kind: 'throttled'; retryAfterSeconds: number };

/** `code`: with TOTP on, an authenticator or recovery code (lib/flows/mfa-check.ts). */
export async function deleteAccount(services: DeleteAccountServices, session: LiveSession, password: string, now: number, code?: string): Promise<DeleteAccountOutcome> {
  const { db, log, mail } = services;
  const account = session.account;
  const check = await checkPassword(services, session, password, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on, whatever else a check might say.
  if (check.kind !== 'right') {
    log('account_delete_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  const factor = await requireSecondFactor(services, account, code, now);
  if (factor.kind !== 'right') {
    log('account_delete_failed', { accountId: account.id, reason: 'code' });
    return factor;
  }
  // The notice commits with the deletion, only if the deletion did (the account is gone).
  const notice = await mail.queue(noticeMail('account-deleted', account.email), {
    now,
    usefulForSeconds: NOTICE_USEFUL_SECONDS,
    onlyIf: not(accountExists(account.emailKey)),
  });
  const done = await runBatch(db, { deletion: deleteAccountStatements(db, account), notice: notice.statement });
  const deleted = accountDeleted(done.deletion);
  mail.committed(notice, done.notice.meta.changes, deleted);
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
