/**
 * Logging in: only the right password of an active account succeeds. Everything else — a wrong
 * password, an unknown address, an address still waiting for activation, whatever password — is
 * `wrong`, after the same work: one lookup and one scrypt verification (against a dummy hash when
 * there is no account). Registrations are never consulted: anyone can create one with a password
 * of their choosing, so a login that answered differently for them would tell an attacker which
 * addresses already have accounts (docs/enumeration-and-inputs.md).
 */
import type { Config } from '../config/config.ts';
import { HashQueueFullError, refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import { parseEmail } from '../policy/emails.ts';
import { accountHasHash, accountRead, replacePasswordHash, type Account } from '../storage/accounts.ts';
import { allOf, not, rowsOf, runBatch, type Database, type Statement } from '../storage/db.ts';
import type { DevicePolicy } from '../config/device-settings.ts';
import { chargedDevice, deviceCharge, deviceTrusted, newDevice, presentedDigest, type IssuedDevice, type TrustedDevice } from '../storage/devices.ts';
import { newSession, type IssuedSession } from './sessions.ts';
import { admitted, attemptVerdict, clearLoginFailures, countFailure, keys, loginAttempt, runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient } from './admission.ts';
import type { FieldError } from './field-error.ts';
import { loginChallenge, totpBranches } from './mfa-login.ts';
import type { IssuedChallenge } from '../storage/mfa.ts';

export interface LoginServices {
  db: Database;
  hasher: PasswordHasher;
  config: Pick<Config, 'throttle' | 'devices' | 'sessions'>;
  log: EventLog;
}

export interface LoginRequest {
  email: string;
  password: string;
  /** The device token the client sent back from an earlier login, if any. */
  deviceToken: string | undefined;
  /** The client's address, kept with the session so that the owner can tell their sessions apart. */
  client: string;
  /** The request's hit on the client's login allowance, for the first batch (lib/flows/admission.ts). */
  admission?: Admission | null;
}

export type LoginOutcome =
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'wrong' }
  /** The password is right, and the account has TOTP on: POST /login/mfa finishes (lib/flows/mfa-login.ts). */
  | { kind: 'mfa_required'; challenge: IssuedChallenge }
  | { kind: 'ok'; account: Account; device: IssuedDevice; session: IssuedSession };

/** True once the account's devices have used up their failures with this attempt. */
const lockedNow = (device: TrustedDevice, policy: DevicePolicy) => device.failures >= policy.maxFailures;

/**
 * Upgrades a hash made with older parameters, now that we hold the password that matches it: the
 * statement to run with the login's other writes, if any.
 */
async function rehashIfOutdated(services: LoginServices, account: Account, password: string): Promise<{ statements: Statement[]; hash: string }> {
  const unchanged = { statements: [], hash: account.passwordHash };
  if (!services.hasher.needsRehash(account.passwordHash)) return unchanged;
  let fresh: string;
  try {
    fresh = await services.hasher.hash(password);
  } catch (error) {
    // Too busy to rehash now: the login itself has succeeded, and the next one will rehash.
    if (error instanceof HashQueueFullError) return unchanged;
    throw error;
  }
  return { statements: [replacePasswordHash(services.db, account.id, account.passwordHash, fresh)], hash: fresh };
}

export async function login(services: LoginServices, request: LoginRequest, now: number): Promise<LoginOutcome> {
  const { db, config, hasher, log } = services;
  const parsed = parseEmail(request.email);
  if (!parsed.ok) return { kind: 'invalid', errors: [{ pointer: '/email', detail: parsed.detail }] };
  const key = parsed.email.key;

  refuseWhenBusy(hasher);
  // The first of two round trips: everything the hash needs and every charge before it, decided in
  // SQL (docs/design.md, "Two round trips"). The client's window admits the request or nothing here
  // applies. A device token trusted for this address takes the attempt (lib/storage/devices.ts);
  // any other token changes nothing, and the login goes on exactly as without one. Otherwise the
  // attempt is charged to the address named, whether or not it has an account, so that the back-off
  // looks the same for every address and cannot be used to find out which ones exist.
  const presented = presentedDigest(request.deviceToken);
  const admits = admitted(request.admission ?? null);
  const trusted = deviceTrusted(presented, key, config.devices, now);
  const backoff = loginAttempt(db, keys.login(key), config.throttle.loginFailures, now, allOf(admits, not(trusted)));
  const first = await runAdmitted(db, request.admission ?? null, {
    ...backoff,
    device: deviceCharge(db, presented, key, config.devices, now, admits),
    account: accountRead(db, key),
  });
  const refused = refusedClient(first.verdict, log);
  if (refused) return refused;
  const device = chargedDevice(first.done.device, presented);
  if (!device) {
    const attempt = attemptVerdict(first.done.attempt, first.done.refusedUntil, now);
    if (!attempt.ok) {
      log('throttled', { rule: 'login', retryAfter: attempt.retryAfterSeconds });
      return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    }
  }

  // One verification on every branch, so the work does not depend on the address.
  const account = rowsOf<Account>(first.done.account)[0] ?? null;
  const matches = account ? await hasher.verify(request.password, account.passwordHash) : await hasher.verifyDummy(request.password);

  if (account && matches) {
    // Every write below acts on the strength of the password just verified, so each holds only
    // while the account still has that hash: a reset or a password change that commits while this
    // login hashes must not leave it a session, a device token or cleared failures (the session's
    // insert tells whether it did). A device's success leaves the address's failures alone:
    // clearing them would give guessers fresh free attempts each time the owner logs in.
    // With TOTP on, the password alone gives a challenge instead of all three (lib/flows/mfa-login.ts),
    // decided in the same batch so that it costs no round trip of its own.
    const verified = accountHasHash(account.id, account.passwordHash);
    const { plain, secondFactor } = totpBranches(account.id, verified);
    const session = newSession(db, account.id, request.client, config.sessions, now, plain);
    const clear = device ? [] : [clearLoginFailures(db, keys.login(key), plain)];
    const fresh = newDevice(db, account.id, presented, config.devices, now, plain);
    // Last: it replaces the verified hash, and is itself guarded on it.
    const rehash = await rehashIfOutdated(services, account, request.password);
    const challenge = loginChallenge(db, { account, passwordHash: rehash.hash, presented, viaDevice: device !== null, client: request.client }, now, secondFactor);
    const done = await runBatch(db, { session: session.statement, clear, device: fresh.statements, challenge: challenge.statement, rehash: rehash.statements });
    const opened = done.session.meta.changes === 1;
    const challenged = done.challenge.meta.changes === 1;
    if (rehash.statements.length > 0 && (opened || challenged)) log('password_rehashed', { accountId: account.id });
    if (challenged) {
      log('mfa_challenge_issued', { accountId: account.id, device: device !== null });
      return { kind: 'mfa_required', challenge: challenge.issued };
    }
    if (opened) {
      log('login_ok', { accountId: account.id, device: device !== null });
      log('session_created', { accountId: account.id, session: session.issued.id });
      return { kind: 'ok', account, device: fresh.issued, session: session.issued };
    }
    log('login_failed', { accountId: account.id, reason: 'password-changed', device: device !== null });
    return { kind: 'wrong' };
  }
  // A guess through a device skipped the address's back-off; it still counts there, so that no
  // set of tokens gives more guesses than the address's limits and the devices' one allowance.
  if (device) await countFailure(db, keys.login(key), config.throttle.loginFailures, now).run();
  log('login_failed', account ? { accountId: account.id, reason: 'password', device: device !== null } : { reason: 'no-account' });
  if (device && lockedNow(device, config.devices)) log('device_locked', { accountId: device.accountId });
  return { kind: 'wrong' };
}
