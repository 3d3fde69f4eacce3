/**
 * The second factor's rows (migrations/0010_second_factor.sql): an account's authenticator secret
 * (sealed by the caller with DATA_KEY, never stored readable), its recovery codes (SHA-256 only)
 * and the login challenges that a right password gives an account with TOTP on.
 *
 * Every "this works once" is decided by one guarded statement, so that two requests at once with
 * the same code, recovery code or challenge cannot both win, on D1 as on sql.js: a time step is
 * claimed by moving `last_step` past it, a recovery code by deleting its row, a challenge by
 * marking it with the using request's random mark, which the session's insert then checks.
 */
import { constantTimeEqual, newPublicId, newSessionToken, parseSessionToken, tokenDigest } from '../crypto/tokens.ts';
import type { Account } from './accounts.ts';
import { numbered, type Condition, type Database, type Statement } from './db.ts';

/** The tables that hold an account's second factor: deleted with the account (account-changes.ts). */
export const MFA_TABLES = ['mfa_challenges', 'mfa_recovery_codes', 'mfa_totp'] as const;

export interface TotpRow {
  secretSealed: string;
  enabledAt: number | null;
  lastStep: number;
}

export const totpIsOn = (row: TotpRow | null): row is TotpRow & { enabledAt: number } => row !== null && row.enabledAt !== null;

/** Holds while the account has TOTP on: the guard of what only such an account may do. */
export const totpOn = (accountId: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM mfa_totp WHERE account_id = ? AND enabled_at IS NOT NULL)',
  values: [accountId],
});

/** A new pending secret in place of any pending one; an enabled one is left alone (changes 0). */
export function storePendingTotp(db: Database, accountId: string, secretSealed: string, now: number): Statement {
  return db
    .prepare(
      `INSERT INTO mfa_totp (account_id, secret_sealed, created_at, enabled_at, last_step) VALUES (?1, ?2, ?3, NULL, 0)
       ON CONFLICT (account_id) DO UPDATE SET secret_sealed = ?2, created_at = ?3 WHERE mfa_totp.enabled_at IS NULL`,
    )
    .bind(accountId, secretSealed, now);
}

/**
 * Turns on the pending secret that was checked (the same sealed text: a setup made in between
 * changes nothing), with its first step spent and a first set of recovery codes: the batch's
 * statements. The first one's changes say whether it was this request that turned it on.
 */
export function enableTotp(db: Database, accountId: string, secretSealed: string, step: number, codeDigests: string[], now: number) {
  const set = newPublicId();
  return {
    turnOn: db
      .prepare('UPDATE mfa_totp SET enabled_at = ?, last_step = ?, recovery_set = ? WHERE account_id = ? AND secret_sealed = ? AND enabled_at IS NULL')
      .bind(now, step, set, accountId, secretSealed),
    codes: recoverySetStatements(db, accountId, set, codeDigests, now),
  };
}

/**
 * A new set of recovery codes in place of the old: the set becomes the account's current one, its
 * codes are stored (only if it still is current when they are), and every other set's go.
 */
export function replaceRecoveryCodes(db: Database, accountId: string, codeDigests: string[], now: number, onlyIf: Condition) {
  const set = newPublicId();
  return {
    current: db.prepare(`UPDATE mfa_totp SET recovery_set = ? WHERE account_id = ? AND enabled_at IS NOT NULL AND ${onlyIf.sql}`).bind(set, accountId, ...onlyIf.values),
    codes: recoverySetStatements(db, accountId, set, codeDigests, now),
  };
}

function recoverySetStatements(db: Database, accountId: string, set: string, codeDigests: string[], now: number): Statement[] {
  const current = 'EXISTS (SELECT 1 FROM mfa_totp WHERE account_id = ?1 AND recovery_set = ?2)';
  const values = codeDigests.map((_, i) => `(?${i + 4})`).join(', ');
  return [
    db
      .prepare(`INSERT INTO mfa_recovery_codes (code_hash, account_id, set_id, created_at) SELECT column1, ?1, ?2, ?3 FROM (VALUES ${values}) WHERE ${current}`)
      .bind(accountId, set, now, ...codeDigests),
    db.prepare(`DELETE FROM mfa_recovery_codes WHERE account_id = ?1 AND set_id <> ?2 AND ${current}`).bind(accountId, set),
  ];
}

/**
 * Spends a time step: only if it is later than every step spent before (a code is never accepted
 * twice, nor an older one after a newer). Changes 1 when this request spent it.
 */
export function claimStep(db: Database, accountId: string, step: number): Statement {
  return db.prepare('UPDATE mfa_totp SET last_step = ?1 WHERE account_id = ?2 AND enabled_at IS NOT NULL AND last_step < ?1').bind(step, accountId);
}

/** Spends one recovery code of the current set: changes 1 when this request spent it. */
export function claimRecoveryCode(db: Database, accountId: string, digest: string): Statement {
  return db
    .prepare(
      `DELETE FROM mfa_recovery_codes WHERE account_id = ?1 AND code_hash = ?2
         AND set_id = (SELECT recovery_set FROM mfa_totp WHERE account_id = ?1 AND enabled_at IS NOT NULL)`,
    )
    .bind(accountId, digest);
}

/** TOTP off: the secret, the recovery codes and any open challenge go, while `onlyIf` holds. `secret`'s changes say whether it was on. */
export function removeTotp(db: Database, accountId: string, onlyIf: Condition) {
  return {
    secret: db.prepare(`DELETE FROM mfa_totp WHERE account_id = ? AND enabled_at IS NOT NULL AND ${onlyIf.sql}`).bind(accountId, ...onlyIf.values),
    rest: [
      db.prepare('DELETE FROM mfa_recovery_codes WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM mfa_totp WHERE account_id = ?)').bind(accountId, accountId),
      db.prepare('DELETE FROM mfa_challenges WHERE account_id = ? AND NOT EXISTS (SELECT 1 FROM mfa_totp WHERE account_id = ?)').bind(accountId, accountId),
    ],
  };
}

// Challenges ---------------------------------------------------------------------------------

/** Codes a challenge takes (each charged before it is checked); then it is dead. */
export const CHALLENGE_ATTEMPTS = 5;
/** How long the password step holds: long enough to open the app and type six digits. */
export const CHALLENGE_TTL_SECONDS = 300;

export interface NewChallenge {
  accountId: string;
  passwordHash: string;
  /** The digest of the device token presented with the password (lib/storage/devices.ts presentedDigest). */
  deviceHash: string;
  viaDevice: boolean;
  client: string;
}

/** What a login with TOTP on answers with: the token itself appears here and nowhere else. */
export interface IssuedChallenge {
  token: string;
  expiresAt: string;
}

export function newChallenge(db: Database, challenge: NewChallenge, now: number, onlyIf: Condition): { statement: Statement; issued: IssuedChallenge } {
  const { id, secret, token } = newSessionToken();
  const expiresAt = now + CHALLENGE_TTL_SECONDS * 1000;
  const statement = db
    .prepare(
      `INSERT INTO mfa_challenges (id, secret_hash, account_id, password_digest, device_hash, via_device, client, attempts, created_at, expires_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, 0, ?, ? WHERE ${onlyIf.sql}`,
    )
    .bind(id, tokenDigest(secret), challenge.accountId, tokenDigest(challenge.passwordHash), challenge.deviceHash, challenge.viaDevice ? 1 : 0, challenge.client.slice(0, 64), now, expiresAt, ...onlyIf.values);
  return { statement, issued: { token, expiresAt: new Date(expiresAt).toISOString() } };
}

export interface ChargedChallenge {
  id: string;
  accountId: string;
  passwordDigest: string;
  deviceHash: string;
  viaDevice: boolean;
  /** The attempts made on it, this one included. */
  attempts: number;
}

const NO_ID = '.'.repeat(22);
const NO_SECRET_DIGEST = tokenDigest('');

/**
 * Charges one attempt to the challenge with this id, if it is live (unexpired, unused, fewer than
 * CHALLENGE_ATTEMPTS attempts) and `onlyIf` holds: one statement, so parallel guesses are counted
 * as they arrive. For a flow's first batch; chargedChallenge() reads it back.
 */
export function challengeCharge(db: Database, id: string, now: number, onlyIf: Condition): Statement {
  return db
    .prepare(
      `UPDATE mfa_challenges SET attempts = attempts + 1
       WHERE id = ?1 AND used_by IS NULL AND expires_at > ?2 AND attempts < ?3 AND ${numbered(onlyIf.sql, 4)}
       RETURNING id, secret_hash AS secretHash, account_id AS accountId, password_digest AS passwordDigest,
         device_hash AS deviceHash, via_device AS viaDevice, attempts`,
    )
    .bind(id, now, CHALLENGE_ATTEMPTS, ...onlyIf.values);
}

/**
 * Holds while challengeCharge() will count a second or later code on the challenge with this id
 * and secret digest, made without a device token: read before the charge, in the same batch.
 */
export const furtherCodeOf = (id: string, secretDigest: string, now: number): Condition => ({
  sql: `EXISTS (SELECT 1 FROM mfa_challenges WHERE id = ? AND secret_hash = ? AND via_device = 0
          AND used_by IS NULL AND expires_at > ? AND attempts >= 1 AND attempts < ${CHALLENGE_ATTEMPTS})`,
  values: [id, secretDigest, now],
});

/** The login back-off key of the account the challenge with this id belongs to, as an SQL expression. */
export const challengeLoginKey = (id: string, prefix: string): Condition => ({
  sql: `(SELECT ? || a.email_key FROM mfa_challenges c JOIN accounts a ON a.id = c.account_id WHERE c.id = ?)`,
  values: [prefix, id],
});

/**
 * What challengeCharge() charged, if the token's secret is the challenge's: null for a missing,
 * malformed, unknown, used, expired or dead challenge, after the same constant-time compare.
 */
export function chargedChallenge(
  row: { id: string; secretHash: string; accountId: string; passwordDigest: string; deviceHash: string; viaDevice: number; attempts: number } | undefined,
  token: string,
): ChargedChallenge | null {
  const parsed = parseSessionToken(token);
  const matches = constantTimeEqual(row?.secretHash ?? NO_SECRET_DIGEST, tokenDigest(parsed?.secret ?? ''));
  if (!parsed || !row || !matches) return null;
  return { id: row.id, accountId: row.accountId, passwordDigest: row.passwordDigest, deviceHash: row.deviceHash, viaDevice: row.viaDevice === 1, attempts: row.attempts };
}

/** The id a challenge token names, or one no challenge has. */
export const challengeIdOf = (token: string): string => parseSessionToken(token)?.id ?? NO_ID;

/** Marks the challenge used by the request whose random `mark` this is, while `onlyIf` holds; changes 1 for the one that did. */
export function useChallenge(db: Database, id: string, mark: string, onlyIf: Condition): Statement {
  return db.prepare(`UPDATE mfa_challenges SET used_by = ? WHERE id = ? AND used_by IS NULL AND ${onlyIf.sql}`).bind(mark, id, ...onlyIf.values);
}

/** Holds only for the request that used the challenge: the guard of the login's other writes. */
export const challengeUsedBy = (id: string, mark: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM mfa_challenges WHERE id = ? AND used_by = ?)',
  values: [id, mark],
});

/**
 * The account the challenge with this id belongs to, with its authenticator if it is on, and the
 * current recovery digests: what a challenge's answer checks, read whether or not the challenge is
 * live, so that a dead one costs what a live one does.
 */
export function challengeAccountReads(db: Database, challengeId: string) {
  return {
    found: db
      .prepare(
        `SELECT a.id, a.email, a.email_key AS emailKey, a.password_hash AS passwordHash, a.created_at AS createdAt, a.activated_at AS activatedAt,
           ${TOTP_COLUMNS}
         FROM mfa_challenges c JOIN accounts a ON a.id = c.account_id JOIN mfa_totp t ON t.account_id = a.id
         WHERE c.id = ? AND t.enabled_at IS NOT NULL`,
      )
      .bind(challengeId),
    recovery: db
      .prepare(
        `SELECT r.code_hash AS codeHash FROM mfa_challenges c JOIN mfa_totp t ON t.account_id = c.account_id
           JOIN mfa_recovery_codes r ON r.account_id = t.account_id AND r.set_id = t.recovery_set
         WHERE c.id = ? AND t.enabled_at IS NOT NULL`,
      )
      .bind(challengeId),
  };
}

/** The account that challengeAccountReads() found, or null. */
export function accountOfChallenge(row: (Account & TotpRow & { enabledAt: number }) | undefined): Account | null {
  if (!row) return null;
  const { secretSealed: _s, enabledAt: _e, lastStep: _l, ...account } = row;
  return account;
}

// Read through a session, for the first batch of a flow that the session's token opens ------

const TOTP_COLUMNS = 't.secret_sealed AS secretSealed, t.enabled_at AS enabledAt, t.last_step AS lastStep';

/** The authenticator (enabled or only set up) of the account of the session with this id, while `onlyIf` holds (read back with rowsOf<TotpRow>). */
export function sessionTotpRead(db: Database, sessionId: string, onlyIf: Condition): Statement {
  return db
    .prepare(`SELECT ${TOTP_COLUMNS} FROM sessions s JOIN mfa_totp t ON t.account_id = s.account_id WHERE s.id = ? AND ${onlyIf.sql}`)
    .bind(sessionId, ...onlyIf.values);
}

/** The digests of the usable recovery codes (the current set's) of the account of the session with this id, while `onlyIf` holds (rows of { codeHash }). */
export function sessionRecoveryRead(db: Database, sessionId: string, onlyIf: Condition): Statement {
  return db
    .prepare(
      `SELECT r.code_hash AS codeHash FROM sessions s JOIN mfa_totp t ON t.account_id = s.account_id
         JOIN mfa_recovery_codes r ON r.account_id = t.account_id AND r.set_id = t.recovery_set
       WHERE s.id = ? AND t.enabled_at IS NOT NULL AND ${onlyIf.sql}`,
    )
    .bind(sessionId, ...onlyIf.values);
}

/** Holds while claimStep() would spend this step: read before it, in the same batch. */
export const stepClaimable = (accountId: string, step: number): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM mfa_totp WHERE account_id = ? AND enabled_at IS NOT NULL AND last_step < ?)',
  values: [accountId, step],
});

/** Holds while claimRecoveryCode() would spend this code: read before it, in the same batch. */
export const recoveryClaimable = (accountId: string, digest: string): Condition => ({
  sql: `EXISTS (SELECT 1 FROM mfa_recovery_codes WHERE account_id = ? AND code_hash = ?
          AND set_id = (SELECT recovery_set FROM mfa_totp WHERE account_id = ? AND enabled_at IS NOT NULL))`,
  values: [accountId, digest, accountId],
});
