/**
 * The writes of a logged-in account's own changes: a new password, and closing the account. Each
 * is one batch, guarded in SQL on the hash that the flow verified, so that of two changes made at
 * once with the same old password only one takes effect, and the other changes nothing at all.
 */
import { accountHasHash, type Account } from './accounts.ts';
import { allOf, numbered, type Condition, type Database, type RunResult, type Statement } from './db.ts';
import { endEveryDevice } from './devices.ts';
import { deleteEmailChanges, retireEmailChanges } from './email-changes.ts';
import { retireResetLinks } from './resets.ts';
import { endEverySession } from './sessions.ts';
import { MFA_TABLES } from './mfa.ts';
import { clearLoginFailures, keys } from './throttle.ts';

export interface PasswordChange {
  account: Account;
  /** The session that asks; it must still be live, and it is the one that stays. */
  sessionId: string;
  newHash: string;
  /** A further guard of the new hash (a second factor still unspent: lib/flows/mfa-check.ts factorOutcome). */
  onlyIf?: Condition;
}

/**
 * The new hash (only over the verified one, only while the asking session is live), then, only if
 * that happened, every other session ended, the address's and the session's login failures cleared, the account's
 * outstanding reset links retired and its device tokens ended.
 * `changed` reads the batch's results: true if the password was changed, and how many sessions ended.
 */
export function changePasswordBatch(db: Database, change: PasswordChange, now: number) {
  const { account, sessionId, newHash, onlyIf = { sql: '1', values: [] } } = change;
  const statements: Statement[] = [
    db
      .prepare(
        `UPDATE accounts SET password_hash = ?1 WHERE id = ?2 AND password_hash = ?3
           AND EXISTS (SELECT 1 FROM sessions WHERE id = ?4 AND revoked_at IS NULL) AND ${numbered(onlyIf.sql, 5)}`,
      )
      .bind(newHash, account.id, account.passwordHash, sessionId, ...onlyIf.values),
    endEverySession(db, account.id, now, { except: sessionId, whileHash: newHash }),
    clearLoginFailures(db, keys.login(account.emailKey), accountHasHash(account.id, newHash)),
    // The session's own count too: the check it just passed was charged there first.
    clearLoginFailures(db, keys.session(sessionId), accountHasHash(account.id, newHash)),
    // A reset link mailed before the change would otherwise undo it for whoever holds the link.
    retireResetLinks(db, account.id, now, accountHasHash(account.id, newHash)),
    // Device tokens skip the back-off; one earned with the old password must not outlive it.
    endEveryDevice(db, account.id, accountHasHash(account.id, newHash)),
    // A change of address asked for before must be asked for again, by whoever knows the new password.
    retireEmailChanges(db, account.id, now, accountHasHash(account.id, newHash)),
  ];
  const changed = (results: readonly RunResult[]) => ({
    changed: results[0]?.meta.changes === 1,
    sessionsEnded: results[1]?.meta.changes ?? 0,
  });
  return { statements, changed };
}

/** Whether deleteAccountStatements() deleted the account: its own row is the last statement. */
export const accountDeleted = (results: readonly RunResult[]): boolean => results.at(-1)?.meta.changes === 1;

/**
 * Everything kept about an account and its address, the account last (its rows reference it):
 * devices, registrations, the address's throttle rows (login back-off and mail allowances) and its
 * sessions' own, its sessions, its password reset links and the account itself, each only while the account still has the verified hash. The
 * last statement's result says whether the account was deleted.
 */
export function deleteAccountStatements(db: Database, account: Account, onlyIf?: Condition): Statement[] {
  const verified = allOf(accountHasHash(account.id, account.passwordHash), ...(onlyIf ? [onlyIf] : []));
  const guarded = (sql: string, ...values: string[]) => db.prepare(`${sql} AND ${verified.sql}`).bind(...values, ...verified.values);
  const key = account.emailKey;
  // The per-client mail allowances of the address are the keys that start with this prefix: a
  // range on the primary key, not a scan of every client's rows (':' + 1 is ';').
  const fromAnyClient = keys.mailFrom(key, '');
  return [
    guarded('DELETE FROM devices WHERE account_id = ?', account.id),
    guarded('DELETE FROM registrations WHERE email_key = ?', key),
    // The sessions' own password-check counts too (keys.session), found through the sessions, which go next.
    guarded(
      `DELETE FROM throttle WHERE (key IN (?, ?) OR (key >= ? AND key < ?)
         OR key IN (SELECT '${keys.session('')}' || id FROM sessions WHERE account_id = ?))`,
      keys.login(key),
      keys.mail(key),
      fromAnyClient,
      `${fromAnyClient.slice(0, -1)};`,
      account.id,
    ),
    guarded('DELETE FROM sessions WHERE account_id = ?', account.id),
    guarded('DELETE FROM password_resets WHERE account_id = ?', account.id),
    // Its changes of address too, which releases an old address it held for an undo.
    deleteEmailChanges(db, account.id, verified),
    // The second factor (lib/storage/mfa.ts): the sealed secret, recovery codes and challenges.
    ...MFA_TABLES.map((table) => guarded(`DELETE FROM ${table} WHERE account_id = ?`, account.id)),
    db.prepare(`DELETE FROM accounts WHERE id = ? AND ${verified.sql}`).bind(account.id, ...verified.values),
  ];
}
