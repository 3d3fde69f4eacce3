/**
 * The second factor, checked: an authenticator code (a time step not spent before, ±1 step for
 * the phone's clock) or one of the account's unused recovery codes. Each is spent by the check
 * that accepts it (lib/storage/mfa.ts), so that it works once even for two requests at once.
 *
 * requireSecondFactor() is the one call for a change that a logged-in account makes with its
 * password (change-password, delete-account, and the change of address when it lands): with TOTP
 * on it asks for `code` too, and a wrong code counts toward the address's login back-off, as a
 * wrong password does; with TOTP off it asks nothing.
 */
import type { Config } from '../config/config.ts';
import { UnsealError, type Sealer } from '../crypto/seal.ts';
import { DUMMY_SECRET, isTotpCode, matchingStep, recoveryCodeDigest } from '../crypto/totp.ts';
import { constantTimeEqual } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import type { Account } from '../storage/accounts.ts';
import type { Database } from '../storage/db.ts';
import { claimRecoveryCode, claimStep, findTotp, recoveryDigests, totpIsOn, type TotpRow } from '../storage/mfa.ts';
import { countFailure, keys } from '../storage/throttle.ts';

export interface SecondFactorServices {
  db: Database;
  sealer: Sealer;
  log: EventLog;
}

/** Which factor was accepted; null: none (a wrong, spent or unreadable code). */
export type Factor = 'totp' | 'recovery';

/** The label a secret is sealed under: bound to its account, so a sealed secret moved to another account's row does not open. */
export const secretLabel = (accountId: string) => `totp:${accountId}`;

export const sealSecret = (sealer: Sealer, accountId: string, secret: string) => sealer.seal(secret, secretLabel(accountId));

/**
 * The secret, or null when its seal does not open (DATA_KEY replaced, or the row altered or moved
 * to another account): no code can be checked then, which is answered as a wrong code, never a 500.
 * Only the operator can help such an account (docs/second-factor.md).
 */
export async function openSecret(sealer: Sealer, accountId: string, sealed: string): Promise<string | null> {
  try {
    return await sealer.open(sealed, secretLabel(accountId));
  } catch (error) {
    if (error instanceof UnsealError) return null;
    throw error;
  }
}

/**
 * Checks `code` against an account with TOTP on and spends what it matched. A six-digit code is
 * an authenticator code, anything else a recovery code; either way the same work runs whatever
 * the code is (every candidate step computed, every recovery digest compared).
 */
export async function verifySecondFactor(services: SecondFactorServices, accountId: string, totp: TotpRow, code: string, now: number): Promise<Factor | null> {
  const { db, sealer, log } = services;
  if (isTotpCode(code)) {
    const secret = await openSecret(sealer, accountId, totp.secretSealed);
    if (secret === null) log('mfa_failed', { accountId, reason: 'unreadable' });
    const step = matchingStep(secret ?? DUMMY_SECRET, code, now);
    if (secret === null) return null;
    if (step === null) return null;
    const { meta } = await claimStep(db, accountId, step).run();
    return meta.changes === 1 ? 'totp' : null;
  }
  const given = recoveryCodeDigest(code);
  let match: string | null = null;
  for (const digest of await recoveryDigests(db, accountId)) if (constantTimeEqual(digest, given) && match === null) match = digest;
  if (match === null) return null;
  const { meta } = await claimRecoveryCode(db, accountId, match).run();
  if (meta.changes !== 1) return null;
  log('recovery_code_used', { accountId });
  return 'recovery';
}

/** The same work as verifySecondFactor's for an authenticator code, when there is nothing to check it against. */
export function dummySecondFactor(code: string, now: number): void {
  matchingStep(DUMMY_SECRET, code, now);
}

export type SecondFactorCheck = { kind: 'right' } | { kind: 'wrong-code' };

/**
 * For a change made by a logged-in account (after its password was checked): with TOTP on, `code`
 * must be right; a missing or wrong one counts toward the address's back-off. With TOTP off: right.
 */
export async function requireSecondFactor(
  services: SecondFactorServices & { config: Pick<Config, 'throttle'> },
  account: Account,
  code: string | undefined,
  now: number,
): Promise<SecondFactorCheck> {
  const totp = await findTotp(services.db, account.id);
  if (!totpIsOn(totp)) return { kind: 'right' };
  if (code !== undefined && (await verifySecondFactor(services, account.id, totp, code, now))) return { kind: 'right' };
  await countFailure(services.db, keys.login(account.emailKey), services.config.throttle.loginFailures, now).run();
  services.log('mfa_failed', { accountId: account.id, reason: code === undefined ? 'missing' : 'code' });
  return { kind: 'wrong-code' };
}
