/**
 * Password reset links in SQL. A link belongs to one account, is stored only as the SHA-256 of its
 * token, works until it expires and only once, and the reset that uses one retires all the others
 * of the account. The rules that must hold under concurrent requests live in the statements: the
 * reset is one batch whose first statement decides, so that D1, which has no interactive
 * transactions, changes a password at most once per link however many confirmations race.
 */
import { accountHasHash } from './accounts.ts';
import { runBatch, type Condition, type Database, type Statement } from './db.ts';
import { endEveryDevice } from './devices.ts';
import { retireEmailChanges } from './email-changes.ts';
import { endEverySession } from './sessions.ts';
import { clearLoginFailures, keys } from './throttle.ts';

export interface ResetLink {
  tokenHash: string;
  accountId: string;
  /** The account's address as it was registered, and its key. */
  email: string;
  emailKey: string;
  expiresAt: number;
  usedAt: number | null;
  /** The account's dates, for the host's hook once the reset commits (nothing else reads them). */
  accountCreatedAt: number;
  accountActivatedAt: number;
}

/**
 * Stores a reset link for the address's account, if it has one: one statement whatever the
 * address's state, so POST /forgot-password runs it on every branch. The statement, for the caller
 * to commit together with the activation link a pending address gets instead.
 */
export function addPasswordReset(db: Database, emailKey: string, link: { tokenHash: string; createdAt: number; expiresAt: number }): Statement {
  return db
    .prepare(
      `INSERT INTO password_resets (token_hash, account_id, created_at, expires_at)
       SELECT ?, id, ?, ? FROM accounts WHERE email_key = ?`,
    )
    .bind(link.tokenHash, link.createdAt, link.expiresAt, emailKey);
}

/** The reset link with this token's digest, with its account, in one read for a batch: its rows are ResetLinks. */
export function resetLinkRead(db: Database, tokenHash: string): Statement {
  return db
    .prepare(
      `SELECT r.token_hash AS tokenHash, r.account_id AS accountId, a.email, a.email_key AS emailKey,
         r.expires_at AS expiresAt, r.used_at AS usedAt, a.created_at AS accountCreatedAt, a.activated_at AS accountActivatedAt
       FROM password_resets r JOIN accounts a ON a.id = r.account_id
       WHERE r.token_hash = ?`,
    )
    .bind(tokenHash);
}

export interface ResetChange {
  tokenHash: string;
  accountId: string;
  emailKey: string;
  /** The new password's hash. Its salt is fresh, so no other request can write the same text. */
  passwordHash: string;
}

/**
 * Every write of one reset, in order. The first statement changes the password only while the link
 * is unused and unexpired; each one after it runs only if the account now holds this reset's hash,
 * that is, only if the first one did it. A confirmation that lost a race (another reset of the
 * account used or retired its link first) therefore writes nothing at all. The expiry is checked at
 * the `now` the caller read the link at, so a link read as usable cannot expire in between.
 *
 * What else a reset revokes is in the same list, guarded the same way: every device token and
 * every session of the account ends, so that whoever knew the old password keeps nothing it gave.
 */
export function resetStatements(db: Database, change: ResetChange, now: number): Statement[] {
  const { tokenHash, accountId, emailKey, passwordHash } = change;
  const won = accountHasHash(accountId, passwordHash);
  return [
    db
      .prepare(
        `UPDATE accounts SET password_hash = ?
         WHERE id = ? AND EXISTS (SELECT 1 FROM password_resets
           WHERE token_hash = ? AND account_id = ? AND used_at IS NULL AND expires_at > ?)`,
      )
      .bind(passwordHash, accountId, tokenHash, accountId, now),
    // The owner has proved the mailbox and chosen a password: earlier guesses no longer count.
    clearLoginFailures(db, keys.login(emailKey), won),
    // This link and every other outstanding one of the account: a link mailed before the reset
    // must not undo it.
    retireResetLinks(db, accountId, now, won),
    // Device tokens skip the back-off; one earned with the old password must not outlive it.
    endEveryDevice(db, accountId, won),
    // A change of address asked for with the old password must not go on after it.
    retireEmailChanges(db, accountId, now, won),
    // Last, so that commitReset reads its count from the last result.
    endEverySession(db, accountId, now, { whileHash: passwordHash }),
  ];
}

/** Marks every outstanding reset link of the account used, while `onlyIf` holds (the change won). */
export function retireResetLinks(db: Database, accountId: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(`UPDATE password_resets SET used_at = ? WHERE account_id = ? AND used_at IS NULL AND ${onlyIf.sql}`)
    .bind(now, accountId, ...onlyIf.values);
}

/**
 * Runs one reset's writes as one batch, with the caller's `alongside` statements after them (the
 * notice's queueing): `changed` only for the call that changed the password, how many of the
 * account's sessions it ended, and what each of the caller's statements changed.
 */
export async function commitReset(
  db: Database,
  change: ResetChange,
  now: number,
  alongside: Statement[] = [],
): Promise<{ changed: boolean; sessionsEnded: number; alongside: number[] }> {
  const done = await runBatch(db, { reset: resetStatements(db, change, now), alongside });
  return {
    changed: done.reset[0]?.meta.changes === 1,
    sessionsEnded: done.reset.at(-1)?.meta.changes ?? 0,
    alongside: done.alongside.map((r) => r.meta.changes),
  };
}

/** A reset link with this token's digest was stored: the guard of the mail that carries it. */
export const resetStored = (tokenHash: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM password_resets WHERE token_hash = ?)',
  values: [tokenHash],
});
