/**
 * The password of a logged-in account, asked again before a change that matters (a new password,
 * closing the account). Every attempt is charged to the address's login back-off first, exactly as
 * a login is, so that a stolen session cannot be used to guess the password faster than the login
 * page allows; a right password is then cleared by the caller's batch.
 */
import type { Config } from '../config/config.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import type { Account } from '../storage/accounts.ts';
import type { Database } from '../storage/db.ts';
import { chargeLoginAttempt, keys } from '../storage/throttle.ts';

export interface PasswordCheckServices {
  db: Database;
  hasher: PasswordHasher;
  config: Pick<Config, 'throttle'>;
  log: EventLog;
}

export type PasswordCheck = { kind: 'right' } | { kind: 'wrong' } | { kind: 'throttled'; retryAfterSeconds: number };

export async function checkPassword(services: PasswordCheckServices, account: Account, password: string, now: number): Promise<PasswordCheck> {
  const { db, hasher, config, log } = services;
  refuseWhenBusy(hasher);
  const attempt = await chargeLoginAttempt(db, keys.login(account.emailKey), config.throttle.loginFailures, now);
  if (!attempt.ok) {
    log('throttled', { rule: 'login', retryAfter: attempt.retryAfterSeconds });
    return { kind: 'throttled', retryAfterSeconds: attempt.retryAfterSeconds };
  }
  return (await hasher.verify(password, account.passwordHash)) ? { kind: 'right' } : { kind: 'wrong' };
}
