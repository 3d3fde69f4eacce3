/**
 * The rows of the sessions table, and nothing about what they mean: minting a token, deciding
 * whether a session is live, when "last seen" moves and which ones a list shows are the sessions
 * module's (lib/flows/sessions.ts). Only the SHA-256 of a token's secret is stored, so a leaked
 * table holds no usable token; revoking is one UPDATE; an ended session keeps its row, marked
 * revoked, for the purge's grace (lib/storage/purge.ts). No expiry is stored: the caller passes
 * the cut-offs of the moment, so a changed setting applies to every session at once.
 */
import type { Account } from './accounts.ts';
import { accountHasHash } from './accounts.ts';
import { allOf, numbered, type Condition, type Database, type Statement } from './db.ts';

export interface SessionRow {
  id: string;
  accountId: string;
  client: string;
  createdAt: number;
  lastSeenAt: number;
  revokedAt: number | null;
  /** 1 when the login gave a second factor (lib/flows/mfa-login.ts), else 0. */
  mfa: number;
}

/** A session's row as read to check a token: with its secret's digest and its account. */
export interface StoredSession extends SessionRow {
  secretHash: string;
  account: Account;
}

/** A session has ended at `now` when last seen at or before `seenBy` or created at or before `createdBy`. */
export interface EndedBy {
  seenBy: number;
  createdBy: number;
}

// A well-formed id that no session has (ids are random base64url, never all dots).
const NO_ID = '.'.repeat(22);

const SESSION_COLUMNS = `s.id, s.account_id AS accountId, s.client, s.created_at AS createdAt,
  s.last_seen_at AS lastSeenAt, s.revoked_at AS revokedAt, s.mfa`;

/** The insert of a fresh session, for the login's batch; with `onlyIf`, only while it holds. */
export function insertSession(
  db: Database,
  row: { id: string; secretHash: string; accountId: string; client: string; createdAt: number; mfa?: boolean },
  onlyIf?: Condition,
): Statement {
  return db
    .prepare(
      `INSERT INTO sessions (id, secret_hash, account_id, client, created_at, last_seen_at, mfa)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE ${onlyIf?.sql ?? 'TRUE'}`,
    )
    .bind(row.id, row.secretHash, row.accountId, row.client, row.createdAt, row.createdAt, row.mfa ? 1 : 0, ...(onlyIf?.values ?? []));
}

export type SessionJoinRow = SessionRow & { secretHash: string; aId: string; aEmail: string; aEmailKey: string; aPasswordHash: string; aCreatedAt: number; aActivatedAt: number };

/**
 * The read of the session with this id and its account: one indexed read (the primary key, joined
 * to the account by its own), whether or not the id exists; for a batch, read back with storedSession().
 */
export function sessionRead(db: Database, id: string): Statement {
  return db
    .prepare(
      // The session row first (a subquery of at most one row), then its account. A plain join
      // costs the same now that sql.js compiles statements with opaque parameters (bench/micro.ts);
      // it took 56 µs before, when SQLite compiled it again on every run.
      `SELECT ${SESSION_COLUMNS}, s.secret_hash AS secretHash,
         a.id AS aId, a.email AS aEmail, a.email_key AS aEmailKey, a.password_hash AS aPasswordHash,
         a.created_at AS aCreatedAt, a.activated_at AS aActivatedAt
       FROM (SELECT * FROM sessions WHERE id = ? LIMIT 1) s JOIN accounts a ON a.id = s.account_id`,
    )
    .bind(id);
}

/** What sessionRead() found, or null. */
export function storedSession(row: SessionJoinRow | undefined): StoredSession | null {
  if (!row) return null;
  const { id: sessionId, accountId, client, createdAt, lastSeenAt, revokedAt, secretHash } = row;
  const account: Account = {
    id: row.aId,
    email: row.aEmail,
    emailKey: row.aEmailKey,
    passwordHash: row.aPasswordHash,
    createdAt: row.aCreatedAt,
    activatedAt: row.aActivatedAt,
  };
  return { id: sessionId, accountId, client, createdAt, lastSeenAt, revokedAt, mfa: row.mfa, secretHash, account };
}

/** The session with this id and its account, or null: sessionRead() on its own. */
export async function sessionById(db: Database, id: string): Promise<StoredSession | null> {
  return storedSession((await sessionRead(db, id).first<SessionJoinRow>()) ?? undefined);
}

/**
 * Moves "last seen" to `now` unless it is more recent than `staleBy`: the guard is in the
 * statement, so concurrent requests of one session write once between them.
 */
export function touchSession(db: Database, id: string, now: number, staleBy: number, onlyIf?: Condition): Statement {
  return db
    .prepare(`UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND last_seen_at <= ?3 AND ${numbered(onlyIf?.sql ?? '1', 4)}`)
    .bind(id, now, staleBy, ...(onlyIf?.values ?? []));
}

/**
 * Holds while the session with this id is live and its secret's digest is `secretDigest`: the guard
 * of what a batch writes on a session's word before the token has been judged (lib/flows/sessions.ts
 * openSession). A lookup by the digest, as the device and link lookups are; the token's own
 * constant-time compare is still made, on the row read beside it.
 */
export function sessionLive(id: string, secretDigest: string, ended: EndedBy): Condition {
  return {
    sql: 'EXISTS (SELECT 1 FROM sessions WHERE id = ? AND secret_hash = ? AND revoked_at IS NULL AND last_seen_at > ? AND created_at > ?)',
    values: [id, secretDigest, ended.seenBy, ended.createdBy],
  };
}

/**
 * Ends one session of the account that session `askingId` belongs to, unless it is another
 * account's, ended already, or ended by `ended`; only while `onlyIf` holds (the asking session's
 * token is live: lib/flows/sessions.ts openSession). For the asking session's own batch.
 */
export function revokeAccountSession(db: Database, askingId: string, sessionId: string, now: number, ended: EndedBy, onlyIf: Condition): Statement {
  return db
    .prepare(
      `UPDATE sessions SET revoked_at = ?1
       WHERE id = ?2 AND account_id = (SELECT account_id FROM sessions WHERE id = ?3)
         AND revoked_at IS NULL AND last_seen_at > ?4 AND created_at > ?5 AND ${numbered(onlyIf.sql, 6)}`,
    )
    .bind(now, sessionId, askingId, ended.seenBy, ended.createdBy, ...onlyIf.values);
}

/**
 * The statement that ends every session of an account: for a flow's batch (a password reset runs
 * it with its new hash). `except` keeps the session that made the change; `whileHash` makes the
 * statement a no-op unless the account's hash is that one when it runs (the batch's own update).
 */
export function endEverySession(db: Database, accountId: string, now: number, options: { except?: string; whileHash?: string; onlyIf?: Condition } = {}): Statement {
  const guard = allOf(...(options.whileHash === undefined ? [] : [accountHasHash(accountId, options.whileHash)]), ...(options.onlyIf ? [options.onlyIf] : []));
  return db
    .prepare(`UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND id <> ? AND revoked_at IS NULL AND ${guard.sql}`)
    .bind(now, accountId, options.except ?? NO_ID, ...guard.values);
}

/** The sessions not revoked of the account that session `askingId` belongs to, newest first: a read for that session's batch. */
export function accountSessionsRead(db: Database, askingId: string): Statement {
  return db
    .prepare(
      `SELECT ${SESSION_COLUMNS} FROM sessions s
       WHERE s.account_id = (SELECT account_id FROM sessions WHERE id = ?) AND s.revoked_at IS NULL ORDER BY s.created_at DESC, s.id`,
    )
    .bind(askingId);
}
