/**
 * Sessions: what a successful login gives the app (the Copenhagen Book / Lucia design). A token is
 * `id.secret` (lib/crypto/tokens.ts); the row is found by its id and only the SHA-256 of the secret
 * is kept, so a leaked table holds no usable token, and revoking is one UPDATE (ASVS 5.0 7.4.1).
 *
 * - Both expiries are enforced from the settings of the moment, when a session is read and when
 *   the purge deletes it: idle (`idleSeconds` since it was last seen) and absolute (`maxSeconds`
 *   since the login). No expiry is stored, so a changed setting applies to every session at once.
 * - "Last seen" moves at most once an hour per session (SLIDE_EVERY_SECONDS), so checking a session
 *   is one indexed read and, once an hour, one write.
 * - An ended session keeps its row, marked revoked, for the purge's grace (lib/storage/purge.ts).
 */
import { constantTimeEqual, newSessionToken, parseSessionToken, tokenDigest } from '../crypto/tokens.ts';
import { accountHasHash, type Account } from './accounts.ts';
import type { Condition, Database, Statement } from './db.ts';

export interface SessionPolicy {
  /** A session not seen for this long has ended. */
  idleSeconds: number;
  /** A session this old has ended, however busy it is. */
  maxSeconds: number;
}

/** NIST SP 800-63B-4's AAL1 ceiling is 30 days; a week without use ends a session sooner. */
export const DEFAULT_SESSIONS: SessionPolicy = { idleSeconds: 7 * 86_400, maxSeconds: 30 * 86_400 };

/** How stale "last seen" may get before a request moves it: the write budget of a busy session. */
export const SLIDE_EVERY_SECONDS = 3600;

/** What a login answers with: the token itself appears here and nowhere else. */
export interface IssuedSession {
  id: string;
  token: string;
  expiresAt: string;
}

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

/** A live session and its account, as the bearer middleware found them. */
export interface LiveSession extends SessionRow {
  expiresAt: number;
  account: Account;
}

/** Why a token does not authenticate (for the log only: the answer is the same). */
export type Rejection = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

const SESSION_COLUMNS = `s.id, s.account_id AS accountId, s.client, s.created_at AS createdAt,
  s.last_seen_at AS lastSeenAt, s.revoked_at AS revokedAt, s.mfa`;

/** When a session seen at `lastSeenAt` ends, whichever of the two expiries comes first. */
export const expiryOf = (row: Pick<SessionRow, 'createdAt' | 'lastSeenAt'>, policy: SessionPolicy) =>
  Math.min(row.lastSeenAt + policy.idleSeconds * 1000, row.createdAt + policy.maxSeconds * 1000);

/**
 * expiryOf() for SQL: a session has ended at `now` when it was last seen at or before `seenBy` or
 * created at or before `createdBy` (expiryOf(row) <= now, turned around).
 */
export const endedBefore = (policy: SessionPolicy, now: number) => ({
  seenBy: now - policy.idleSeconds * 1000,
  createdBy: now - policy.maxSeconds * 1000,
});

/** A fresh session for an account that just logged in: the statement for the login's batch. */
export function newSession(db: Database, accountId: string, client: string, policy: SessionPolicy, now: number, onlyIf?: Condition, mfa = false) {
  const { id, secret, token } = newSessionToken();
  const expiresAt = expiryOf({ createdAt: now, lastSeenAt: now }, policy);
  const statement = db
    .prepare(
      `INSERT INTO sessions (id, secret_hash, account_id, client, created_at, last_seen_at, mfa)
       SELECT ?, ?, ?, ?, ?, ?, ? WHERE ${onlyIf?.sql ?? 'TRUE'}`,
    )
    .bind(id, tokenDigest(secret), accountId, client.slice(0, 64), now, now, mfa ? 1 : 0, ...(onlyIf?.values ?? []));
  return { statement, issued: { id, token, expiresAt: new Date(expiresAt).toISOString() } satisfies IssuedSession };
}

// A well-formed id that no session has (ids are random base64url, never all dots), and the digest
// that a malformed token is compared against, so that every token costs one lookup and one compare.
const NO_ID = '.'.repeat(22);
const NO_SECRET_DIGEST = tokenDigest('');

/**
 * The session a bearer token names, with its account, if it is live: one indexed read (the primary
 * key, joined to the account by its own), one SHA-256 and one constant-time compare, whatever the
 * token is — missing, malformed, unknown, revoked, expired or good.
 */
export async function authenticate(
  db: Database,
  token: string | undefined,
  policy: SessionPolicy,
  now: number,
): Promise<{ ok: true; session: LiveSession } | { ok: false; reason: Rejection }> {
  const parsed = parseSessionToken(token);
  const row = await db
    .prepare(
      // The session row first, then its account: written as a plain join, the same two index
      // lookups took sql.js nearly three times as long (27 µs against 10 µs a read through the
      // driver: bench/micro.ts); GET /session reads this on every request.
      `WITH s AS MATERIALIZED (SELECT * FROM sessions WHERE id = ?)
       SELECT ${SESSION_COLUMNS}, s.secret_hash AS secretHash,
         a.id AS aId, a.email AS aEmail, a.email_key AS aEmailKey, a.password_hash AS aPasswordHash,
         a.created_at AS aCreatedAt, a.activated_at AS aActivatedAt
       FROM s JOIN accounts a ON a.id = s.account_id`,
    )
    .bind(parsed?.id ?? NO_ID)
    .first<SessionRow & { secretHash: string; aId: string; aEmail: string; aEmailKey: string; aPasswordHash: string; aCreatedAt: number; aActivatedAt: number }>();
  const matches = constantTimeEqual(row?.secretHash ?? NO_SECRET_DIGEST, tokenDigest(parsed?.secret ?? ''));
  if (!parsed) return { ok: false, reason: token === undefined ? 'missing' : 'malformed' };
  if (!row || !matches) return { ok: false, reason: 'unknown' };
  if (row.revokedAt !== null) return { ok: false, reason: 'revoked' };
  const expiresAt = expiryOf(row, policy);
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  const account: Account = {
    id: row.aId,
    email: row.aEmail,
    emailKey: row.aEmailKey,
    passwordHash: row.aPasswordHash,
    createdAt: row.aCreatedAt,
    activatedAt: row.aActivatedAt,
  };
  const { id, accountId, client, createdAt, lastSeenAt, revokedAt, mfa } = row;
  return { ok: true, session: { id, accountId, client, createdAt, lastSeenAt, revokedAt, mfa, expiresAt, account } };
}

/**
 * Moves "last seen" (and so the idle expiry) to now if it is an hour old; the guard is in the
 * statement, so concurrent requests of one session write once between them. Null when no write is due.
 * `_policy` is unused since no expiry is stored (migrations/0006_purge.sql); it goes once
 * lib/http/bearer.ts stops passing it.
 */
export function slideSession(db: Database, session: SessionRow, _policy: SessionPolicy, now: number): Statement | null {
  if (now - session.lastSeenAt < SLIDE_EVERY_SECONDS * 1000) return null;
  return db
    .prepare('UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1 AND revoked_at IS NULL AND last_seen_at <= ?2 - ?3')
    .bind(session.id, now, SLIDE_EVERY_SECONDS * 1000);
}

/**
 * Ends one live session of an account: another account's id, an ended one, or one that `policy`
 * says has expired at `now` changes nothing, so the caller can answer all of them as unknown.
 */
export function revokeSession(db: Database, accountId: string, sessionId: string, policy: SessionPolicy, now: number): Statement {
  const { seenBy, createdBy } = endedBefore(policy, now);
  return db
    .prepare(
      `UPDATE sessions SET revoked_at = ?1
       WHERE id = ?2 AND account_id = ?3 AND revoked_at IS NULL AND last_seen_at > ?4 AND created_at > ?5`,
    )
    .bind(now, sessionId, accountId, seenBy, createdBy);
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

/** The account's sessions that are still live now, newest first. */
export async function liveSessions(db: Database, accountId: string, policy: SessionPolicy, now: number): Promise<Array<SessionRow & { expiresAt: number }>> {
  const { results } = await db
    .prepare(
      `SELECT ${SESSION_COLUMNS} FROM sessions s
       WHERE s.account_id = ? AND s.revoked_at IS NULL ORDER BY s.created_at DESC, s.id`,
    )
    .bind(accountId)
    .all<SessionRow>();
  return results.map((row) => ({ ...row, expiresAt: expiryOf(row, policy) })).filter((row) => row.expiresAt > now);
}
