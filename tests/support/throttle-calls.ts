/**
 * The throttle's statements called one at a time, for the tests that check them directly: the
 * flows only ever run them inside their own batches (lib/storage/throttle.ts).
 *
 * `chargeMail()` is the mail allowances decided in code, one round trip per allowance, as Latchkey
 * decided them before they moved into one batch: the model that mailCharges() is held to
 * (tests/statement-boundaries.test.ts).
 */
import type { ThrottlePolicy, WindowLimit } from '../../lib/config/throttle-settings.ts';
import type { BackoffPolicy } from '../../lib/policy/login-backoff.ts';
import { runBatch, type Database } from '../../lib/storage/db.ts';
import { attemptVerdict, clientAdmission, keys, loginAttempt, spendAdmission, type Verdict } from '../../lib/storage/throttle.ts';

/** One hit on a per-client window, as a request that never reached its flow spends it. */
export const hit = (db: Database, key: string, rule: WindowLimit, now: number): Promise<Verdict> => spendAdmission(db, clientAdmission(key, rule, now));

/** One login attempt charged to `key`'s back-off, on its own. */
export async function chargeLoginAttempt(db: Database, key: string, policy: BackoffPolicy, now: number): Promise<Verdict> {
  const { attempt, refusedUntil } = await runBatch(db, loginAttempt(db, key, policy, now));
  return attemptVerdict(attempt, refusedUntil, now);
}

/** One hit on a window if `counts` (else on keys.uncounted): the window's hits with it, or 0. */
async function charge(db: Database, key: string, rule: WindowLimit, now: number, counts: boolean): Promise<number> {
  const counted = await db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?1, 1, 0, ?2 + ?3)
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END,
         forget_at = CASE WHEN throttle.forget_at <= ?2 THEN ?2 + ?3 ELSE throttle.forget_at END
       WHERE throttle.forget_at <= ?2 OR throttle.hits < ?4
       RETURNING hits`,
    )
    .bind(counts ? key : keys.uncounted, now, counts ? rule.windowSeconds * 1000 : 0, counts ? rule.limit : Number.MAX_SAFE_INTEGER)
    .first<{ hits: number }>();
  return counts ? (counted?.hits ?? 0) : 0;
}

/** The mail allowances decided in code between round trips: may the mail go? */
export async function chargeMail(
  db: Database,
  policy: Pick<ThrottlePolicy, 'mailPerAddressClient' | 'mailPerAddress' | 'mailNewClients'>,
  emailKey: string,
  clientKey: string,
  now: number,
  mails = true,
): Promise<boolean> {
  const { mailPerAddressClient: own, mailPerAddress: ceiling, mailNewClients: newClients } = policy;
  const ownHits = own.limit === 0 ? (mails ? 1 : 0) : await charge(db, keys.mailFrom(emailKey, clientKey), own, now, mails);
  const ownOk = ownHits > 0;
  const ceilingOk = ceiling.limit === 0 ? ownOk : (await charge(db, keys.mail(emailKey), ceiling, now, ownOk)) > 0;
  if (ceiling.limit === 0 || newClients.limit === 0) return ceilingOk;
  const newClientOk = (await charge(db, keys.mailNewClients(emailKey), newClients, now, ownHits === 1 && !ceilingOk)) > 0;
  return ceilingOk || newClientOk;
}
