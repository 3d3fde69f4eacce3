/**
 * Devices where an account's owner logged in before: OWASP's "device cookies" (Slow Down Online
 * Guessing Attacks), the "clients where the subscriber succeeded before" of NIST SP 800-63B-4.
 * Sent back in a request header rather than a cookie, because cookies are the website's business.
 *
 * Why: the per-address back-off (lib/storage/throttle.ts) refuses an attempt before its password is
 * checked, so someone who knows only the address can re-arm it for ever with one wrong guess each
 * time it ends, and the owner never gets through. A login that presents a token from an earlier
 * success of the same account is charged to that token's own failure count instead; the address's
 * back-off still holds every guess made without one, at the same pace as before.
 *
 * - A token is 256 random bits, shown once in the login answer; only its SHA-256 is stored.
 * - It is trusted only for its own account, before its expiry, and while fewer than
 *   `maxFailures` attempts made with it have failed since its last success: a stolen token that
 *   guesses locks itself.
 * - Every success hands out a fresh token and drops the one presented, so a copy left behind on
 *   the old token stops working the next time the owner logs in.
 * - A token that is absent, malformed, unknown, expired, locked or another account's is treated
 *   exactly as no token: the same statement runs, nothing is written, the login goes the address's
 *   way. Its presence therefore tells nobody anything about an address.
 */
import type { Condition, Database, Statement } from './db.ts';
import { constantTimeEqual, isWellFormedToken, newToken, tokenDigest } from '../crypto/tokens.ts';

export interface DevicePolicy {
  /** How long a device token is trusted after the login that issued it. */
  ttlSeconds: number;
  /** Failed logins with one token (since its last success) after which it is no longer trusted. */
  maxFailures: number;
}

export const DEFAULT_DEVICES: DevicePolicy = { ttlSeconds: 90 * 86_400, maxFailures: 5 };

/** The request header a client sends its device token in. */
export const DEVICE_HEADER = 'Latchkey-Device';

/** Tokens kept per account; the least recently used go first. */
export const DEVICES_PER_ACCOUNT = 50;

/** What a successful login answers with: the token itself appears here and nowhere else. */
export interface IssuedDevice {
  token: string;
  expiresAt: string;
}

/** A device token that is trusted for the address, with this attempt already charged to it. */
export interface TrustedDevice {
  accountId: string;
  /** Attempts charged since its last success, this one included. */
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
 * Charges one attempt to the presented token if it is trusted for this address; one atomic
 * statement, so parallel guesses with a stolen token are counted as they arrive and no more than
 * `maxFailures` of them get through. Null when it is not trusted: nothing was written.
 */
export async function chargeDevice(db: Database, digest: string, emailKey: string, policy: DevicePolicy, now: number): Promise<TrustedDevice | null> {
  const row = await db
    .prepare(
      `UPDATE devices SET failures = failures + 1
       WHERE token_hash = ?1 AND expires_at > ?2 AND failures < ?3
         AND account_id = (SELECT id FROM accounts WHERE email_key = ?4)
       RETURNING token_hash AS tokenHash, account_id AS accountId, failures`,
    )
    .bind(digest, now, policy.maxFailures, emailKey)
    .first<{ tokenHash: string; accountId: string; failures: number }>();
  // The lookup is by digest already; the constant-time check keeps it so whatever the index does.
  if (!row || !constantTimeEqual(row.tokenHash, digest)) return null;
  return { accountId: row.accountId, failures: row.failures };
}

/** True once a trusted device has used up its failures with this attempt. */
export const lockedNow = (device: TrustedDevice, policy: DevicePolicy) => device.failures >= policy.maxFailures;

/**
 * A fresh token for an account that just logged in. The statements replace the presented token
 * if it was this account's (whatever its state), and drop the account's expired tokens and those
 * beyond the newest DEVICES_PER_ACCOUNT; the caller runs them in its own batch, so that the token
 * exists exactly when the login's other writes happened.
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
  const expiresAt = now + policy.ttlSeconds * 1000;
  return {
    statements: [
      db.prepare('DELETE FROM devices WHERE token_hash = ? AND account_id = ?').bind(replacing, accountId),
      db
        .prepare(`INSERT INTO devices (token_hash, account_id, failures, created_at, expires_at) SELECT ?, ?, 0, ?, ? WHERE ${onlyIf?.sql ?? 'TRUE'}`)
        .bind(tokenDigest(token), accountId, now, expiresAt, ...(onlyIf?.values ?? [])),
      db
        .prepare(
          `DELETE FROM devices WHERE account_id = ?1 AND (expires_at <= ?2 OR token_hash NOT IN (
             SELECT token_hash FROM devices WHERE account_id = ?1 ORDER BY created_at DESC, token_hash LIMIT ?3))`,
        )
        .bind(accountId, now, DEVICES_PER_ACCOUNT),
    ],
    issued: { token, expiresAt: new Date(expiresAt).toISOString() },
  };
}
