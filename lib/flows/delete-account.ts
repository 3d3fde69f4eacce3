/**
 * Closing an account: its password again (charged like a login, lib/flows/password-check.ts),
 * then one batch that removes the account and everything kept about it and its address — sessions,
 * devices, registrations, throttle rows — so that nothing of it remains and the address can be
 * registered anew at once. A notice goes to the address.
 */
import type { SendMail } from '../mail/delivery.ts';
import { noticeMail } from '../mail/mail.ts';
import { deleteAccountStatements } from '../storage/account-changes.ts';
import type { LiveSession } from '../storage/sessions.ts';
import { checkPassword, type PasswordCheckServices } from './password-check.ts';

export interface DeleteAccountServices extends PasswordCheckServices {
  sendMail: SendMail;
}

export type DeleteAccountOutcome = { kind: 'deleted' } | { kind: 'wrong' } | { kind: 'throttled'; retryAfterSeconds: number };

export async function deleteAccount(services: DeleteAccountServices, session: LiveSession, password: string, now: number): Promise<DeleteAccountOutcome> {
  const { db, log, sendMail } = services;
  const account = session.account;
  const check = await checkPassword(services, session, password, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on, whatever else a check might say.
  if (check.kind !== 'right') {
    log('account_delete_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  const results = await db.batch(deleteAccountStatements(db, account));
  if (results.at(-1)?.meta.changes !== 1) {
    // The password changed in between: the one verified no longer opens the account.
    log('account_delete_failed', { accountId: account.id, reason: 'concurrent' });
    return { kind: 'wrong' };
  }
  log('session_ended', { accountId: account.id, reason: 'account-deleted' });
  log('account_deleted', { accountId: account.id });
  sendMail(noticeMail('account-deleted', account.email));
  return { kind: 'deleted' };
}
