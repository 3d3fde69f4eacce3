/**
 * Changes of address in SQL (table email_changes). A row is one request: the digest of the link
 * mailed to the new address, then, from its confirmation on, the digest of the undo link mailed
 * to the old one. Every rule that must hold under concurrent requests is a guard in the
 * statements, and each of the two acts (confirm, undo) is one batch whose first statement decides
 * and whose others run only if it did, because D1 has no interactive transactions.
 */
import type { Condition, Database, Statement } from './db.ts';
import { endEveryDevice } from './devices.ts';

/** A request as it is stored: the asker, both addresses, the link's digest and its end. */
export interface NewEmailChange {
  tokenHash: string;
  accountId: string;
  sessionId: string;
  oldEmail: string;
  oldEmailKey: string;
  newEmail: string;
  newEmailKey: string;
  createdAt: number;
  expiresAt: number;
}

/** A request as it is read back, with what became of it. */
export interface EmailChange extends Omit<NewEmailChange, 'createdAt'> {
  usedAt: number | null;
  undoHash: string | null;
  undoExpiresAt: number | null;
  undoneAt: number | null;
  /** The account's address now. */
  currentEmailKey: string;
}

const COLUMNS = `c.token_hash AS tokenHash, c.account_id AS accountId, c.session_id AS sessionId,
  c.old_email AS oldEmail, c.old_email_key AS oldEmailKey, c.new_email AS newEmail, c.new_email_key AS newEmailKey,
  c.expires_at AS expiresAt, c.used_at AS usedAt, c.undo_hash AS undoHash, c.undo_expires_at AS undoExpiresAt,
  c.undone_at AS undoneAt, a.email_key AS currentEmailKey`;

/**
 * The address was an account's until a change of address that can still be undone: it is held for
 * that account, and behaves as taken (docs/email-change.md).
 */
export const addressReserved = (emailKey: string, now: number): Condition => ({
  sql: `EXISTS (SELECT 1 FROM email_changes WHERE old_email_key = ? AND undo_hash IS NOT NULL AND undone_at IS NULL AND undo_expires_at > ?)`,
  values: [emailKey, now],
});

/** An account has the address, or it is reserved for one. */
export const addressTaken = (emailKey: string, now: number): Condition => {
  const reserved = addressReserved(emailKey, now);
  return { sql: `(EXISTS (SELECT 1 FROM accounts WHERE email_key = ?) OR ${reserved.sql})`, values: [emailKey, ...reserved.values] };
};

/**
 * Stores a request unless the new address is taken (an account's, the asker's own included, or
 * reserved) and while `onlyIf` holds: one statement whatever the address, for the request's batch.
 */
export function addEmailChange(db: Database, change: NewEmailChange, onlyIf: Condition): Statement {
  const c = change;
  const taken = addressTaken(c.newEmailKey, c.createdAt);
  return db
    .prepare(
      `INSERT INTO email_changes (token_hash, account_id, session_id, old_email, old_email_key, new_email, new_email_key, created_at, expires_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE NOT ${taken.sql} AND ${onlyIf.sql}`,
    )
    .bind(c.tokenHash, c.accountId, c.sessionId, c.oldEmail, c.oldEmailKey, c.newEmail, c.newEmailKey, c.createdAt, c.expiresAt, ...taken.values, ...onlyIf.values);
}

/** A request with this digest was stored: the guard of the mail that carries its link. */
export const emailChangeStored = (tokenHash: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM email_changes WHERE token_hash = ?)',
  values: [tokenHash],
});

/** The request a confirmation link names, with its account's address now, for a batch: its rows are EmailChanges (none when either is gone). */
export function emailChangeRead(db: Database, tokenHash: string): Statement {
  return db.prepare(`SELECT ${COLUMNS} FROM email_changes c JOIN accounts a ON a.id = c.account_id WHERE c.token_hash = ?`).bind(tokenHash);
}

/** The confirmed change an undo link names, for a batch: its rows are EmailChanges with their undoHash. */
export function undoRead(db: Database, undoHash: string): Statement {
  return db.prepare(`SELECT ${COLUMNS} FROM email_changes c JOIN accounts a ON a.id = c.account_id WHERE c.undo_hash = ?`).bind(undoHash);
}

/** Marks every pending (unconfirmed) request of the account used, while `onlyIf` holds. */
export function retireEmailChanges(db: Database, accountId: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(`UPDATE email_changes SET used_at = ? WHERE account_id = ? AND used_at IS NULL AND ${onlyIf.sql}`)
    .bind(now, accountId, ...onlyIf.values);
}

/**
 * Marks the account's outstanding reset links used, while `onlyIf` holds: resets.ts's
 * retireResetLinks, written here too because resets.ts imports this module (no import cycle).
 */
function retireResetLinks(db: Database, accountId: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(`UPDATE password_resets SET used_at = ? WHERE account_id = ? AND used_at IS NULL AND ${onlyIf.sql}`)
    .bind(now, accountId, ...onlyIf.values);
}

/** Ends every session of the account but `except`, while `onlyIf` holds. */
function endSessions(db: Database, accountId: string, except: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(`UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND id <> ? AND revoked_at IS NULL AND ${onlyIf.sql}`)
    .bind(now, accountId, except, ...onlyIf.values);
}

/**
 * Every write of one confirmation, in order. The first moves the account to the new address only
 * while the request is unused and unexpired, the account still has the old address, and the new
 * one is free (no account, not reserved); the second records the confirmation and the undo link's
 * digest only if the first did it. The undo digest is fresh, so "a row has it" tells the rest of
 * the batch that this confirmation won: each of them runs only then. Named, for runBatch:
 * the caller's own statements (the notice) go after these.
 */
export function confirmStatements(
  db: Database,
  change: EmailChange,
  undo: { tokenHash: string; expiresAt: number },
  now: number,
) {
  const { tokenHash, accountId, oldEmailKey, newEmail, newEmailKey } = change;
  const taken = addressTaken(newEmailKey, now);
  const won = confirmationWon(undo.tokenHash);
  return {
    moved: db
      .prepare(
        `UPDATE accounts SET email = ?, email_key = ?
         WHERE id = ? AND email_key = ? AND NOT ${taken.sql}
           AND EXISTS (SELECT 1 FROM email_changes WHERE token_hash = ? AND account_id = ? AND used_at IS NULL AND expires_at > ?)`,
      )
      .bind(newEmail, newEmailKey, accountId, oldEmailKey, ...taken.values, tokenHash, accountId, now),
    linkUsed: db
      .prepare(
        `UPDATE email_changes SET used_at = ?, undo_hash = ?, undo_expires_at = ?
         WHERE token_hash = ? AND used_at IS NULL AND EXISTS (SELECT 1 FROM accounts WHERE id = ? AND email_key = ?)`,
      )
      .bind(now, undo.tokenHash, undo.expiresAt, tokenHash, accountId, newEmailKey),
    // The account's other requests: a link mailed before must not move it again.
    otherChanges: retireEmailChanges(db, accountId, now, won),
    // A reset link mailed to the old address must not reopen the account for whoever reads it.
    resetLinks: retireResetLinks(db, accountId, now, won),
    // A registration of the new address waiting for activation can no longer become an account.
    registrations: db
      .prepare(`UPDATE registrations SET consumed_at = ? WHERE email_key = ? AND consumed_at IS NULL AND ${won.sql}`)
      .bind(now, newEmailKey, ...won.values),
    // Device tokens skip the back-off; as after a reset, none outlives a change of who can log in.
    devices: endEveryDevice(db, accountId, won),
    // The asking session stays.
    sessions: endSessions(db, accountId, change.sessionId, now, won),
  };
}

/** The confirmation that stored this undo digest committed. */
export const confirmationWon = (undoHash: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM email_changes WHERE undo_hash = ?)',
  values: [undoHash],
});

/** The undo that wrote this mark committed. */
export const undoWon = (mark: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM email_changes WHERE undone_by = ?)',
  values: [mark],
});

/**
 * Every write of one undo, in order. The first marks the undo link used, with a fresh `mark`, only
 * while it is unused and unexpired and no other account has the old address; every other one runs
 * only if that row carries the mark. The account gets its old address back; every pending request
 * and every undo link of a later change is retired (so one made by whoever moved it cannot move it again);
 * every session and device token ends; outstanding reset links are retired and one fresh link
 * (`reset`) is stored, for the notice the caller queues after these. Named, for runBatch.
 */
export function undoStatements(
  db: Database,
  change: EmailChange & { undoHash: string },
  mark: string,
  reset: { tokenHash: string; createdAt: number; expiresAt: number },
  now: number,
) {
  const { undoHash, accountId, oldEmail, oldEmailKey } = change;
  const won = undoWon(mark);
  return {
    linkUsed: db
      .prepare(
        `UPDATE email_changes SET undone_at = ?, undone_by = ?
         WHERE undo_hash = ? AND undone_at IS NULL AND undo_expires_at > ?
           AND NOT EXISTS (SELECT 1 FROM accounts WHERE email_key = ? AND id <> ?)
           AND EXISTS (SELECT 1 FROM accounts WHERE id = ?)`,
      )
      .bind(now, mark, undoHash, now, oldEmailKey, accountId, accountId),
    restored: db.prepare(`UPDATE accounts SET email = ?, email_key = ? WHERE id = ? AND ${won.sql}`).bind(oldEmail, oldEmailKey, accountId, ...won.values),
    otherChanges: retireEmailChanges(db, accountId, now, won),
    // Undo links of changes confirmed since this one: an earlier change's link stays, so that whoever
    // made a second change cannot spend the owner's link by undoing their own. A confirmation retires
    // every pending request, so a change confirmed later was asked for later: its rowid is larger
    // (a new row's rowid is above every row's in the table). Not the clock, which may not move.
    laterUndoLinks: db
      .prepare(
        `UPDATE email_changes SET undone_at = ?
         WHERE account_id = ? AND undo_hash IS NOT NULL AND undone_at IS NULL
           AND rowid > (SELECT rowid FROM email_changes WHERE undo_hash = ?) AND ${won.sql}`,
      )
      .bind(now, accountId, undoHash, ...won.values),
    resetLinks: retireResetLinks(db, accountId, now, won),
    devices: endEveryDevice(db, accountId, won),
    sessions: endSessions(db, accountId, '', now, won),
    resetLink: db
      .prepare(`INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) SELECT ?, ?, ?, ? WHERE ${won.sql}`)
      .bind(reset.tokenHash, accountId, reset.createdAt, reset.expiresAt, ...won.values),
  };
}

/** Everything kept about the account's changes of address: for the deletion of the account. */
export function deleteEmailChanges(db: Database, accountId: string, onlyIf: Condition): Statement {
  return db.prepare(`DELETE FROM email_changes WHERE account_id = ? AND ${onlyIf.sql}`).bind(accountId, ...onlyIf.values);
}
