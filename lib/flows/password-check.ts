/**
 * The password of a logged-in account, asked again before a change that matters (a new password,
 * closing the account, the second factor, a change of address).
 *
 * A live session proves more than a bare login attempt, so it does not wait behind the address's
 * back-off, which anyone who knows the address can keep armed: each attempt is charged first to a
 * back-off of the session's own (the same policy, so a stolen session guesses no faster than the
 * login page allows), and a wrong password is then counted toward the address as well, so that it
 * brings the address's waits and ceiling nearer for every attempt made without the session.
 *
 * The charge rides in the flow's first batch, beside the session's own read (lib/flows/sessions.ts
 * openSession), keyed by the id the token names and guarded on the session being live with the
 * token's secret and on the client's window admitting the request: a token that opens nothing,
 * or a refused client, charges no session.
 */
import type { Config } from '../config/config.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import type { Database, RunResult } from '../storage/db.ts';
import type { LiveSession, SessionGate } from './sessions.ts';
import { attemptVerdict, countFailure, keys, loginAttempt } from '../storage/throttle.ts';

export interface PasswordCheckServices {
  db: Database;
  hasher: PasswordHasher;
  config: Pick<Config, 'throttle'>;
  log: EventLog;
}

export type PasswordCheck = { kind: 'right' } | { kind: 'wrong' } | { kind: 'throttled'; retryAfterSeconds: number };

/** The session's charge, for the first batch (its results go back to checkPassword as `charge`). */
export function sessionCharge(services: Pick<PasswordCheckServices, 'db' | 'config'>, gate: SessionGate, now: number) {
  return loginAttempt(services.db, keys.session(gate.id), services.config.throttle.loginFailures, now, gate.live);
}

/**
 * The charge's verdict, then the hash. A wrong password is counted toward the address here, a
 * trip of its own after the hash: the flow has nothing else to write then.
 */
export async function checkPassword(
  services: PasswordCheckServices,
  session: LiveSession,
  password: string,
  charge: { attempt: RunResult; refusedUntil: RunResult },
  now: number,
): Promise<PasswordCheck> {
  const { db, hasher, config, log } = services;
  const attempt = attemptVerdict(charge.attempt, charge.refusedUntil, now);
  if (!attempt.ok) {
    log('throttled', { rule: 'login', retryAfter: attempt.retryAfterSeconds });
    return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
  }
  if (await hasher.verify(password, session.account.passwordHash)) return { kind: 'right' };
  await countFailure(db, keys.login(session.account.emailKey), config.throttle.loginFailures, now).run();
  return { kind: 'wrong' };
}
