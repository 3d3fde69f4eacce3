/**
 * Turning an authenticator on, in two steps, so that nobody is locked out by a secret they never
 * got into their app: setup (the password again) makes a pending secret and shows it once, as text
 * and as an otpauth:// URI; enable takes a code made from it, turns it on with that step spent, and
 * shows ten recovery codes once (only their SHA-256 is kept: lib/crypto/totp.ts).
 *
 * The secret is sealed with DATA_KEY, bound to the account (lib/flows/mfa-check.ts secretLabel),
 * before it is stored: a copy of the database alone yields no usable secret.
 */
import type { Config } from '../config/config.ts';
import { matchingStep, newRecoveryCode, newTotpSecret, RECOVERY_CODE_COUNT, recoveryCodeDigest, totpUri } from '../crypto/totp.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import { runBatch } from '../storage/db.ts';
import { enableTotp as enableTotpRows, sessionTotpRead, storePendingTotp, totpIsOn } from '../storage/mfa.ts';
import { notOpened, openSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';
import { openSecret, sealSecret, totpOf, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, sessionCharge, type PasswordCheckServices } from './password-check.ts';

export interface SetupServices extends PasswordCheckServices, SecondFactorServices, SessionServices {
  config: Pick<Config, 'throttle' | 'publicUrl' | 'sessions'>;
}

export type SetupOutcome =
  | { kind: 'pending'; secret: string; otpauthUri: string }
  | { kind: 'already-on' }
  | { kind: 'wrong' }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | Unauthenticated;

export async function setupTotp(services: SetupServices, bearer: PresentedSession, password: string, now: number): Promise<SetupOutcome> {
  const { db, sealer, config, log } = services;
  refuseWhenBusy(services.hasher);
  // The first trip: the window, the session, its charge and the account's authenticator.
  const opened = await openSession(services, bearer, now, (gate) => ({ ...sessionCharge(services, gate, now), totp: sessionTotpRead(db, gate.id, gate.live) }));
  if (!opened.ok) return notOpened(opened);
  const { session, done: first } = opened;
  const account = session.account;
  const check = await checkPassword(services, session, password, first, now);
  if (check.kind !== 'right') return check;
  if (totpIsOn(totpOf(first))) return { kind: 'already-on' };
  const secret = newTotpSecret();
  const { meta } = await storePendingTotp(db, account.id, await sealSecret(sealer, account.id, secret), now).run();
  // Turned on by another request in between: the enabled secret stays.
  if (meta.changes !== 1) return { kind: 'already-on' };
  log('totp_setup', { accountId: account.id, session: session.id });
  // The issuer an app shows beside the code: this service's host, from configuration.
  return { kind: 'pending', secret, otpauthUri: totpUri(secret, new URL(config.publicUrl).host, account.email) };
}

export type EnableOutcome = { kind: 'enabled'; recoveryCodes: string[] } | { kind: 'wrong-code' } | { kind: 'not-pending' } | { kind: 'throttled'; retryAfterSeconds: number } | Unauthenticated;

export async function enableTotp(services: SecondFactorServices & SessionServices, bearer: PresentedSession, code: string, now: number): Promise<EnableOutcome> {
  const { db, sealer, log } = services;
  // The first trip: the window, the session and the pending secret.
  const opened = await openSession(services, bearer, now, (gate) => ({ totp: sessionTotpRead(db, gate.id, gate.live) }));
  if (!opened.ok) return notOpened(opened);
  const { session, done: first } = opened;
  const account = session.account;
  const totp = totpOf(first);
  if (!totp || totpIsOn(totp)) return { kind: 'not-pending' };
  const secret = await openSecret(sealer, account.id, totp.secretSealed);
  if (secret === null) {
    // Sealed under another DATA_KEY: a new setup makes one that opens.
    log('totp_enable_failed', { accountId: account.id, reason: 'unreadable' });
    return { kind: 'not-pending' };
  }
  const step = matchingStep(secret, code, now);
  if (step === null) {
    log('totp_enable_failed', { accountId: account.id, reason: 'code' });
    return { kind: 'wrong-code' };
  }
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const done = await runBatch(db, enableTotpRows(db, account.id, totp.secretSealed, step, recoveryCodes.map(recoveryCodeDigest), now));
  // Another setup or enable came first: this secret is not the one pending any more.
  if (done.turnOn.meta.changes !== 1) return { kind: 'not-pending' };
  log('totp_enabled', { accountId: account.id, session: session.id });
  return { kind: 'enabled', recoveryCodes };
}
