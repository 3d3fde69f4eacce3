/**
 * Logging in to an account with TOTP on: two steps. The right password (lib/flows/login.ts) gives
 * a challenge instead of a session; POST /login/mfa trades the challenge and a code (or a recovery
 * code) for the session and device token a login gives.
 *
 * - The password step clears no failures: otherwise someone who holds the password but not the
 *   authenticator could wipe the address's back-off before every few guesses at the code. The
 *   back-off is cleared when the second step succeeds.
 * - A challenge takes CHALLENGE_ATTEMPTS codes, each charged before it is checked, then is dead;
 *   a code is also a login attempt of the address: charged to its back-off first (429 with the
 *   wait; the password step's charge pays for a challenge's first code), or, for a challenge made through a trusted device token (which skipped that back-off),
 *   counted toward it when wrong. So a device token never skips the second factor, and the owner
 *   with one is not kept out by strangers who re-arm the address's back-off.
 * - A wrong code, and an unknown, used, expired, dead or other account's challenge, are one answer
 *   (`wrong`) after the same work: the challenge's charge, the account lookup and three codes
 *   computed (tests/database-cost.test.ts holds the database's share equal).
 */
import type { Config } from '../config/config.ts';
import type { Sealer } from '../crypto/seal.ts';
import { newPublicId, parseSessionToken, tokenDigest, constantTimeEqual } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import { accountHasHash, type Account } from '../storage/accounts.ts';
import { allOf, not, rowsOf, runBatch, type Condition, type Database, type Statement } from '../storage/db.ts';
import { newDevice, type IssuedDevice } from '../storage/devices.ts';
import {
  accountOfChallenge,
  challengeAccountReads,
  challengeCharge,
  CHALLENGE_ATTEMPTS,
  challengeIdOf,
  challengeLoginKey,
  challengeUsedBy,
  chargedChallenge,
  furtherCodeOf,
  newChallenge,
  totpOn,
  useChallenge,
  type IssuedChallenge,
} from '../storage/mfa.ts';
import { newSession, type IssuedSession } from './sessions.ts';
import { admitted, attemptVerdict, clearLoginFailures, countFailure, keys, loginAttempt, runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient } from './admission.ts';
import { dummySecondFactor, factorOutcome, factorSpent, proveSecondFactor } from './mfa-check.ts';

/**
 * For login.ts, once the password is verified: the guards of its two outcomes, both in its one
 * batch, so that which one happens is decided as the batch commits: a session and device token
 * (`plain`) for an account without TOTP on, a challenge (`secondFactor`) for one with it.
 */
export function totpBranches(accountId: string, verified: Condition): { plain: Condition; secondFactor: Condition } {
  return { plain: allOf(verified, not(totpOn(accountId))), secondFactor: allOf(verified, totpOn(accountId)) };
}

/**
 * The challenge's insert, for that batch. `passwordHash` is the account's hash once the batch has
 * run (a login may rehash it): a challenge outlives no other change of the password.
 */
export function loginChallenge(
  db: Database,
  login: { account: Account; passwordHash: string; presented: string; viaDevice: boolean; client: string },
  now: number,
  onlyIf: Condition,
): { statement: Statement; issued: IssuedChallenge } {
  const { account, passwordHash, presented, viaDevice, client } = login;
  return newChallenge(db, { accountId: account.id, passwordHash, deviceHash: presented, viaDevice, client }, now, onlyIf);
}

export interface AnswerChallengeServices {
  db: Database;
  log: EventLog;
  sealer: Sealer;
  config: Pick<Config, 'throttle' | 'devices' | 'sessions'>;
}

export interface AnswerChallengeRequest {
  challenge: string;
  /** An authenticator code or a recovery code. */
  code: string;
  client: string;
  /** The request's hit on the client's login allowance, for the first batch (lib/flows/admission.ts). */
  admission?: Admission | null;
}

export type AnswerChallengeOutcome =
  | { kind: 'wrong' }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'ok'; account: Account; device: IssuedDevice; session: IssuedSession };

export async function answerChallenge(services: AnswerChallengeServices, request: AnswerChallengeRequest, now: number): Promise<AnswerChallengeOutcome> {
  const { db, config, log } = services;
  const policy = config.throttle.loginFailures;
  const admission = request.admission ?? null;
  const id = challengeIdOf(request.challenge);
  // The first trip, decided in SQL: the client's window admits the request or nothing here applies.
  // The first code of a challenge was paid for by the password step's charge (login.ts), which a
  // challenge does not clear; each further one, made without a device token, is charged to the
  // address's back-off (read before the challenge's own charge, which changes what it reads). The
  // account, its authenticator and its recovery digests are read for a dead challenge too, so that
  // it costs what a live one does.
  const further = allOf(admitted(admission), furtherCodeOf(id, tokenDigest(parseSessionToken(request.challenge)?.secret ?? ''), now));
  const first = await runAdmitted(db, admission, {
    ...loginAttempt(db, challengeLoginKey(id, keys.login('')), policy, now, further),
    charged: challengeCharge(db, id, now, admitted(admission)),
    ...challengeAccountReads(db, id),
  });
  const refused = refusedClient(first.verdict, log);
  if (refused) return refused;
  const charged = chargedChallenge(rowsOf<Parameters<typeof chargedChallenge>[0] & object>(first.done.charged)[0], request.challenge);
  const account = accountOfChallenge(rowsOf<Parameters<typeof accountOfChallenge>[0] & object>(first.done.found)[0]);
  // A challenge made with a password that is no longer the account's (a reset or change since) is dead too.
  const live = charged && account && charged.accountId === account.id && constantTimeEqual(charged.passwordDigest, tokenDigest(account.passwordHash));
  if (!charged || !account || !live) {
    dummySecondFactor(request.code, now);
    log('mfa_failed', charged ? { accountId: charged.accountId, reason: 'password-changed' } : { reason: 'challenge' });
    return { kind: 'wrong' };
  }
  const key = keys.login(account.emailKey);
  if (!charged.viaDevice && charged.attempts > 1) {
    const attempt = attemptVerdict(first.done.attempt, first.done.refusedUntil, now);
    if (!attempt.ok) {
      log('throttled', { rule: 'login', retryAfter: attempt.retryAfterSeconds });
      return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
    }
  }

  const proof = await proveSecondFactor(services, account.id, { totp: first.done.found, recovery: first.done.recovery }, request.code, now);
  if (proof.kind !== 'matched') {
    // A guess through a device skipped the address's back-off; it counts there all the same.
    if (charged.viaDevice) await countFailure(db, key, policy, now).run();
    log('mfa_failed', { accountId: account.id, reason: 'code', attemptsLeft: CHALLENGE_ATTEMPTS - charged.attempts });
    return { kind: 'wrong' };
  }

  // The second trip. The code is spent only if still unspent as it runs (factorOutcome's mark), the
  // challenge used only then, and every write below holds only for the request that used the
  // challenge, and only while the password it was made with is still the account's.
  const factor = factorOutcome(db, proof, account, policy, now, charged.viaDevice);
  const mark = newPublicId();
  const won = allOf(challengeUsedBy(charged.id, mark), accountHasHash(account.id, account.passwordHash));
  const session = newSession(db, account.id, request.client, config.sessions, now, won, true);
  const clear = charged.viaDevice ? [] : [clearLoginFailures(db, key, won)];
  const fresh = newDevice(db, account.id, charged.deviceHash, config.devices, now, won);
  const done = await runBatch(db, {
    factor: factor.first,
    used: useChallenge(db, charged.id, mark, factor.holds),
    session: session.statement,
    clear,
    device: fresh.statements,
    unmark: factor.last,
  });
  if (!factor.spent(done.factor)) {
    log('mfa_failed', { accountId: account.id, reason: 'code', attemptsLeft: CHALLENGE_ATTEMPTS - charged.attempts });
    return { kind: 'wrong' };
  }
  factorSpent(services, account.id, proof);
  if (done.session.meta.changes !== 1) {
    log('mfa_failed', { accountId: account.id, reason: 'challenge-used' });
    return { kind: 'wrong' };
  }
  log('login_ok', { accountId: account.id, device: charged.viaDevice, mfa: proof.factor });
  log('session_created', { accountId: account.id, session: session.issued.id });
  return { kind: 'ok', account, device: fresh.issued, session: session.issued };
}
