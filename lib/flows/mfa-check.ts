/**
 * The second factor, checked: an authenticator code (a time step not spent before, ±1 step for
 * the phone's clock) or one of the account's unused recovery codes. Each is spent by the check
 * that accepts it (lib/storage/mfa.ts), so that it works once even for two requests at once.
 *
 * A change that a logged-in account makes with its password (change-password, delete-account, the
 * change of address, TOTP off, new recovery codes) asks for `code` too when TOTP is on, and a wrong
 * code counts toward the address's login back-off, as a wrong password does; with TOTP off it asks
 * nothing. The rows are read in the flow's first batch and the code spent in its last (factorReads,
 * proveSecondFactor, factorOutcome).
 */
import type { Config } from '../config/config.ts';
import { UnsealError, type Sealer } from '../crypto/seal.ts';
import { DUMMY_SECRET, isTotpCode, matchingStep, recoveryCodeDigest } from '../crypto/totp.ts';
import { constantTimeEqual } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import type { Account } from '../storage/accounts.ts';
import { not, rowsOf, type Condition, type Database, type RunResult, type Statement } from '../storage/db.ts';
import { claimRecoveryCode, claimStep, recoveryClaimable, sessionRecoveryRead, sessionTotpRead, stepClaimable, totpIsOn, type TotpRow } from '../storage/mfa.ts';
import { batchMark, countFailure, keys } from '../storage/throttle.ts';
import type { BackoffPolicy } from '../policy/login-backoff.ts';
import type { SessionGate } from './sessions.ts';

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

/** The same work as proveSecondFactor's for an authenticator code, when there is nothing to check it against. */
export function dummySecondFactor(code: string, now: number): void {
  matchingStep(DUMMY_SECRET, code, now);
}

export type SecondFactorCheck = { kind: 'right' } | { kind: 'wrong-code' };

/**
 * The second factor of a change a logged-in account makes (change-password, delete-account, the
 * change of address, TOTP off, new recovery codes), in the flow's two trips: its rows read in the
 * first batch through the session (factorReads), the code checked against them in between
 * (proveSecondFactor), and what it matched spent in the outcome batch, whose change holds only if
 * the code was still unspent as that batch ran (factorOutcome). With TOTP off nothing is asked.
 */
export function factorReads(db: Database, gate: SessionGate) {
  return { totp: sessionTotpRead(db, gate.id, gate.live), recovery: sessionRecoveryRead(db, gate.id, gate.live) };
}

/** The account's authenticator as factorReads() found it. */
export const totpOf = (reads: { totp: RunResult }): TotpRow | null => rowsOf<TotpRow>(reads.totp)[0] ?? null;

/** A code checked against the rows the first batch read, nothing spent yet. */
export type FactorProof =
  | { kind: 'off' }
  | { kind: 'wrong'; reason: 'missing' | 'code' }
  | { kind: 'matched'; factor: Factor; claimable: Condition; claim: Statement };

/**
 * Checks `code` against an account with TOTP on: a six-digit code is an authenticator code, anything
 * else a recovery code; either way the same work whatever the code is (every candidate step computed,
 * every recovery digest compared). What it matched is spent by factorOutcome()'s batch.
 */
export async function proveSecondFactor(
  services: Pick<SecondFactorServices, 'db' | 'sealer' | 'log'>,
  accountId: string,
  reads: { totp: RunResult; recovery: RunResult },
  code: string | undefined,
  now: number,
): Promise<FactorProof> {
  const { db, sealer, log } = services;
  const totp = totpOf(reads);
  if (!totpIsOn(totp)) return { kind: 'off' };
  if (code === undefined) return { kind: 'wrong', reason: 'missing' };
  if (isTotpCode(code)) {
    const secret = await openSecret(sealer, accountId, totp.secretSealed);
    if (secret === null) log('mfa_failed', { accountId, reason: 'unreadable' });
    const step = matchingStep(secret ?? DUMMY_SECRET, code, now);
    if (secret === null || step === null) return { kind: 'wrong', reason: 'code' };
    return { kind: 'matched', factor: 'totp', claimable: stepClaimable(accountId, step), claim: claimStep(db, accountId, step) };
  }
  const given = recoveryCodeDigest(code);
  let match: string | null = null;
  for (const { codeHash } of rowsOf<{ codeHash: string }>(reads.recovery)) if (constantTimeEqual(codeHash, given) && match === null) match = codeHash;
  if (match === null) return { kind: 'wrong', reason: 'code' };
  return { kind: 'matched', factor: 'recovery', claimable: recoveryClaimable(accountId, match), claim: claimRecoveryCode(db, accountId, match) };
}

/**
 * For the outcome batch of a proof that is not `wrong`: `first` (a mark set while the code is still
 * unspent, the failure counted toward the address when it is not, the code spent), `holds` (the
 * guard of the change, fixed by the mark, true with TOTP off), `last` (the mark taken away), and
 * `spent`, which reads whether the factor passed from `first`'s results.
 */
export function factorOutcome(db: Database, proof: FactorProof, account: Account, policy: BackoffPolicy, now: number, countsFailure = true) {
  if (proof.kind !== 'matched') return { first: [], holds: { sql: '1', values: [] } as Condition, last: [], spent: () => proof.kind === 'off' };
  const mark = batchMark(db, proof.claimable, now);
  // Without `countsFailure`, the attempt was charged to the address already (a login's further code).
  const failure = countsFailure ? [countFailure(db, keys.login(account.emailKey), policy, now, not(mark.holds))] : [];
  const first = [mark.set, ...failure, proof.claim];
  return { first, holds: mark.holds, last: [mark.unset], spent: (done: readonly RunResult[]) => done.at(-1)?.meta.changes === 1 };
}

/** A code refused: counted toward the address's back-off (a trip of its own: nothing else is written), logged. */
export async function refuseFactor(
  services: SecondFactorServices & { config: Pick<Config, 'throttle'> },
  account: Account,
  reason: 'missing' | 'code',
  now: number,
  counted = false,
): Promise<{ kind: 'wrong-code' }> {
  if (!counted) await countFailure(services.db, keys.login(account.emailKey), services.config.throttle.loginFailures, now).run();
  services.log('mfa_failed', { accountId: account.id, reason });
  return { kind: 'wrong-code' };
}

/** A proof's factor once its batch spent it: a recovery code's use is logged. */
export function factorSpent(services: Pick<SecondFactorServices, 'log'>, accountId: string, proof: FactorProof): void {
  if (proof.kind === 'matched' && proof.factor === 'recovery') services.log('recovery_code_used', { accountId });
}
