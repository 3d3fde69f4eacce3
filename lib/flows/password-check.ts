/**
 * The password of a logged-in account, asked again before a change that matters (a new password,
 * closing the account).
 *
 * A live session proves more than a bare login attempt, so it does not wait behind the address's
 * back-off, which anyone who knows the address can keep armed: each attempt is charged first to a
 * back-off of the session's own (the same policy, so a stolen session guesses no faster than the
 * login page allows), and a wrong password is then counted toward the address as well, so that it
 * brings the address's waits and ceiling nearer for every attempt made without the session.
 */
import type { Config } from '../config/config.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import type { Database } from '../storage/db.ts';
import type { LiveSession } from './sessions.ts';
import { chargeLoginAttempt, countFailure, keys } from '../storage/throttle.ts';

export interface PasswordCheckServices {
  db: Database;
  hasher: PasswordHasher;
  config: Pick<Config, 'throttle'>;
  log: EventLog;
}

export type PasswordCheck = { kind: 'right' } | { kind: 'wrong' } | { kind: 'throttled'; retryAfterSeconds: number };

export async function checkPassword(services: PasswordCheckServices, session: LiveSession, password: string, now: number): Promise<PasswordCheck> {
  const { db, hasher, config, log } = services;
  const policy = config.throttle.loginFailures;
  refuseWhenBusy(hasher);
  const attempt = await chargeLoginAttempt(db, keys.session(session.id), policy, now);
  if (!attempt.ok) {
    log('throttled', { rule: 'login', retryAfter: attempt.retryAfterSeconds });
    return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
  }
  if (await hasher.verify(password, session.account.passwordHash)) return { kind: 'right' };
  await countFailure(db, keys.login(session.account.emailKey), policy, now).run();
  return { kind: 'wrong' };
}
