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
import type { Condition, Database, Statement } from './db.ts';

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

/**
 * The session with this id and its account, or null: one indexed read (the primary key, joined to
 * the account by its own), whether or not the id exists.
 */
export async function sessionById(db: Database, id: string): Promise<StoredSession | null> {
  const row = await db
    .prepare(
      // The session row first (a subquery of at most one row), then its account: the same two
      // index lookups took sql.js 7 µs so, 15 µs as a materialized CTE and 56 µs as a plain join
      // (a read through the driver: bench/micro.ts, one run); GET /session reads this every time.
      `SELECT ${SESSION_COLUMNS}, s.secret_hash AS secretHash,
         a.id AS aId, a.email AS aEmail, a.email_key AS aEmailKey, a.password_hash AS aPasswordHash,
         a.created_at AS aCreatedAt, a.activated_at AS aActivatedAt
       FROM (SELECT * FROM sessions WHERE id = ? LIMIT 1) s JOIN accounts a ON a.id = s.account_id`,
    )
    .bind(id)
    .first<SessionRow & { secretHash: string; aId: string; aEmail: string; aEmailKey: string; aPasswordHash: string; aCreatedAt: number; aActivatedAt: number }>();
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

/**
 * Moves "last seen" to `now` unless it is more recent than `staleBy`: the guard is in the
 * statement, so concurrent requests of one session write once between them.
 */
export function touchSession(db: Database, id: string, now: number, staleBy: number): Statement {
  return db.prepare('UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND last_seen_at <= ?3').bind(id, now, staleBy);
}

/** Ends one session of an account unless it is another's, ended already, or ended by `ended`. */
export function revokeLiveSession(db: Database, accountId: string, sessionId: string, now: number, ended: EndedBy): Statement {
  return db
    .prepare(
      `UPDATE sessions SET revoked_at = ?1
       WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL AND last_seen_at > ?4 AND created_at > ?5`,
    )
    .bind(now, sessionId, accountId, ended.seenBy, ended.createdBy);
}

/**
 * The statement that ends every session of an account: for a flow's batch (a password reset runs
 * it with its new hash). `except` keeps the session that made the change; `whileHash` makes the
 * statement a no-op unless the account's hash is that one when it runs (the batch's own update).
 */
export function endEverySession(db: Database, accountId: string, now: number, options: { except?: string; whileHash?: string } = {}): Statement {
  const guard = options.whileHash === undefined ? { sql: 'TRUE', values: [] } : accountHasHash(accountId, options.whileHash);
  return db
    .prepare(`UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND id <> ? AND revoked_at IS NULL AND ${guard.sql}`)
    .bind(now, accountId, options.except ?? NO_ID, ...guard.values);
}

/** The account's sessions not revoked, newest first. */
export async function unrevokedSessions(db: Database, accountId: string): Promise<SessionRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${SESSION_COLUMNS} FROM sessions s
       WHERE s.account_id = ? AND s.revoked_at IS NULL ORDER BY s.created_at DESC, s.id`,
    )
    .bind(accountId)
    .all<SessionRow>();
  return results;
}
