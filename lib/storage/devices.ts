/**
 * Devices where an account's owner logged in before: OWASP's "device cookies" (Slow Down Online
 * Guessing Attacks), the "clients where the subscriber succeeded before" of NIST SP 800-63B-4.
 * Sent back in a request header rather than a cookie, because cookies are the website's business.
 *
 * Why: the per-address back-off (lib/storage/throttle.ts) refuses an attempt before its password is
 * checked, so someone who knows only the address can re-arm it for ever with one wrong guess each
 * time it ends, and the owner never gets through. A login that presents a token from an earlier
 * success of the same account skips that wait, charged to the devices' own allowance instead; the
 * address's back-off still holds every guess made without one, at the same pace as before.
 *
 * - A token is 256 random bits, shown once in the login answer; only its SHA-256 is stored.
 * - It is trusted only for its own account, before its expiry, and while the account's tokens
 *   together have failed fewer than `maxFailures` attempts: guesses through stolen tokens, however
 *   many, spend one allowance, and each also counts toward the address's back-off (lib/flows/login.ts).
 * - Every success hands out a fresh token in place of the one presented (same device id, its
 *   failures cleared), so a copy left behind on the old token stops working the next time the
 *   owner logs in.
 * - A reset or a change of the password ends every token of the account (lib/storage/resets.ts,
 *   account-changes.ts): a token earned with a password must not outlive it.
 * - Each device has a public id (not the token) by which its owner lists and ends it.
 * - A token that is absent, malformed, unknown, expired, locked or another account's is treated
 *   exactly as no token: the same statement runs, nothing is written, the login goes the address's
 *   way. Its presence therefore tells nobody anything about an address.
 */
import { DEVICES_PER_ACCOUNT, type DevicePolicy } from '../config/device-settings.ts';
import { numbered, rowsOf, type Condition, type Database, type RunResult, type Statement } from './db.ts';
import { constantTimeEqual, isWellFormedToken, newPublicId, newToken, tokenDigest } from '../crypto/tokens.ts';

/** What a successful login answers with: the token itself appears here and nowhere else. */
export interface IssuedDevice {
  token: string;
  expiresAt: string;
}

/** A device token that is trusted for the address, with this attempt already charged to it. */
export interface TrustedDevice {
  accountId: string;
  /** Attempts charged to the account's live tokens together, this one included. */
  failures: number;
}

/**
 * The digest to look for. Without a well-formed token, the digest of the empty string, which no
 * issued token has: the lookup runs all the same, so the work does not depend on the header.
 */
export function presentedDigest(header: string | undefined): string {
  return tokenDigest(isWellFormedToken(header) ? header : '');
}

/**
 * The presented token is trusted for this address: its account's, unexpired, and the account's
 * live tokens together have failed fewer than `maxFailures` attempts. Read before deviceCharge()
 * in the same batch, it says whether that charge will apply.
 */
export function deviceTrusted(digest: string, emailKey: string, policy: DevicePolicy, now: number): Condition {
  return {
    sql: `EXISTS (SELECT 1 FROM devices t WHERE t.token_hash = ? AND t.expires_at > ?
      AND t.account_id = (SELECT id FROM accounts WHERE email_key = ?)
      AND (SELECT total(failures) FROM devices d WHERE d.account_id = t.account_id AND d.expires_at > ?) < ?)`,
    values: [digest, now, emailKey, now, policy.maxFailures],
  };
}

/**
 * Charges one attempt to the presented token if it is trusted for this address (and `onlyIf`
 * holds); one atomic statement, so parallel guesses with stolen tokens are counted as they arrive
 * and no more than `maxFailures` of them get through, whichever tokens they present. It returns
 * the charged row, read back with chargedDevice(); none when it is not trusted: nothing was written.
 */
export function deviceCharge(db: Database, digest: string, emailKey: string, policy: DevicePolicy, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(
      `UPDATE devices SET failures = failures + 1, last_used_at = ?2
       WHERE token_hash = ?1 AND expires_at > ?2
         AND account_id = (SELECT id FROM accounts WHERE email_key = ?4)
         AND (SELECT total(failures) FROM devices d WHERE d.account_id = devices.account_id AND d.expires_at > ?2) < ?3
         AND ${numbered(onlyIf.sql, 5)}
       RETURNING token_hash AS tokenHash, account_id AS accountId,
         (SELECT total(failures) FROM devices d WHERE d.account_id = devices.account_id AND d.expires_at > ?2) AS failures`,
    )
    .bind(digest, now, policy.maxFailures, emailKey, ...onlyIf.values);
}

/** The device deviceCharge() charged, if it did. */
export function chargedDevice(result: RunResult, digest: string): TrustedDevice | null {
  const [row] = rowsOf<{ tokenHash: string; accountId: string; failures: number }>(result);
  // The lookup is by digest already; the constant-time check keeps it so whatever the index does.
  if (!row || !constantTimeEqual(row.tokenHash, digest)) return null;
  return { accountId: row.accountId, failures: row.failures };
}

/**
 * A fresh token for an account that just logged in. The statements put it in place of the
 * presented token if that was this account's (whatever its state: the device keeps its id, its
 * failures are cleared), or else store a new device; and drop the account's expired tokens and
 * those beyond the DEVICES_PER_ACCOUNT most recently used. The caller runs them in its own batch,
 * so that the token exists exactly when the login's other writes happened.
 */
export function newDevice(
  db: Database,
  accountId: string,
  replacing: string,
  policy: DevicePolicy,
  now: number,
  onlyIf?: Condition,
): { statements: Statement[]; issued: IssuedDevice } {
  const token = newToken();
  const digest = tokenDigest(token);
  const expiresAt = now + policy.ttlSeconds * 1000;
  const guard = onlyIf ?? { sql: 'TRUE', values: [] };
  return {
    statements: [
      db
        .prepare(
          `UPDATE devices SET token_hash = ?, failures = 0, last_used_at = ?, expires_at = ?
           WHERE token_hash = ? AND account_id = ? AND ${guard.sql}`,
        )
        .bind(digest, now, expiresAt, replacing, accountId, ...guard.values),
      db
        .prepare(
          `INSERT INTO devices (id, token_hash, account_id, failures, created_at, expires_at)
           SELECT ?, ?, ?, 0, ?, ? WHERE NOT EXISTS (SELECT 1 FROM devices WHERE token_hash = ?) AND ${guard.sql}`,
        )
        .bind(newDeviceId(), digest, accountId, now, expiresAt, digest, ...guard.values),
      db
        .prepare(
          `DELETE FROM devices WHERE account_id = ?1 AND (expires_at <= ?2 OR id NOT IN (
             SELECT id FROM devices WHERE account_id = ?1 ORDER BY coalesce(last_used_at, created_at) DESC, id LIMIT ?3))`,
        )
        .bind(accountId, now, DEVICES_PER_ACCOUNT),
    ],
    issued: { token, expiresAt: new Date(expiresAt).toISOString() },
  };
}

/** A device's public id: 128 random bits, the shape of a session id, unrelated to its token. */
const newDeviceId = newPublicId;

/**
 * The statement that ends every device token of an account, while `onlyIf` holds: for the batch of
 * a reset or a password change, since a token earned with the old password must not outlive it.
 */
export function endEveryDevice(db: Database, accountId: string, onlyIf: Condition): Statement {
  return db.prepare(`DELETE FROM devices WHERE account_id = ? AND ${onlyIf.sql}`).bind(accountId, ...onlyIf.values);
}

export interface DeviceRow {
  id: string;
  tokenHash: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number;
}

/** The unexpired devices of the account that session `sessionId` belongs to, most recently used first: a read for that session's batch. */
export function accountDevicesRead(db: Database, sessionId: string, now: number): Statement {
  return db
    .prepare(
      `SELECT id, token_hash AS tokenHash, created_at AS createdAt, last_used_at AS lastUsedAt, expires_at AS expiresAt
       FROM devices WHERE account_id = (SELECT account_id FROM sessions WHERE id = ?) AND expires_at > ?
       ORDER BY coalesce(last_used_at, created_at) DESC, id`,
    )
    .bind(sessionId, now);
}

/** Ends one unexpired device of the account that session `sessionId` belongs to, while `onlyIf` holds; another account's id changes nothing. */
export function endAccountDevice(db: Database, sessionId: string, id: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(
      `DELETE FROM devices WHERE id = ? AND account_id = (SELECT account_id FROM sessions WHERE id = ?) AND expires_at > ? AND ${numbered(onlyIf.sql, 4)}`,
    )
    .bind(id, sessionId, now, ...onlyIf.values);
}
