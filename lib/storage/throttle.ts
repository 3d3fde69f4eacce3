/**
 * Throttling with counters in the database, so that limits hold across Workers isolates, restarts
 * and the Node server alike. Each check is one atomic upsert: the statement itself decides whether
 * the attempt is allowed (its DO UPDATE has a WHERE), so concurrent requests cannot all slip in
 * between a read and a write. A refused attempt writes nothing; only then is the row read again,
 * to say how long to wait.
 *
 * Two shapes of limit share the `throttle` table:
 * - windows: at most `limit` hits per `windowSeconds` (fixed window) — per client and endpoint,
 *   and mails per (address, client) under a larger per-address ceiling (chargeMail());
 * - back-off: failed logins per address. A few are free, then each further attempt must wait a
 *   time that doubles up to a ceiling; after NIST_FAILURE_CEILING of them no attempt counts until
 *   `resetSeconds` of quiet forget them. A success clears it. Someone who knows only the address
 *   can keep it waiting for ever, so the owner's known devices skip it (lib/storage/devices.ts).
 */
import { softWrites, type Condition, type Database, type Statement } from './db.ts';

export interface WindowLimit {
  /** Hits allowed per window; 0 switches the limit off. */
  limit: number;
  windowSeconds: number;
}

export interface BackoffPolicy {
  /** Failed attempts that cost no wait. */
  freeFailures: number;
  /** Wait after the first failure past the free ones; doubles with each further failure. */
  baseSeconds: number;
  /** The longest wait: the back-off never grows beyond it. */
  maxSeconds: number;
  /** Quiet time after which the failures are forgotten. */
  resetSeconds: number;
}

export type Endpoint = 'register' | 'login' | 'resend' | 'activate' | 'forgot' | 'reset';

export interface ThrottlePolicy {
  perClient: Record<Endpoint, WindowLimit>;
  /** Mails one client may cause to one address. */
  mailPerAddressClient: WindowLimit;
  /** Mails one address may receive from all clients together. */
  mailPerAddress: WindowLimit;
  loginFailures: BackoffPolicy;
}

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/** NIST SP 800-63B: no more than 100 consecutive failed attempts on one account. */
export const NIST_FAILURE_CEILING = 100;

const ALLOWED: Verdict = { ok: true };
const MAX_SHIFT = 40;

export const keys = {
  client: (endpoint: Endpoint, clientKey: string) => `client:${endpoint}:${clientKey}`,
  mail: (emailKey: string) => `mail:${emailKey}`,
  mailFrom: (emailKey: string, clientKey: string) => `mail:${emailKey}:from:${clientKey}`,
  login: (emailKey: string) => `login:${emailKey}`,
  /** A session's own password checks (lib/flows/password-check.ts): its id, never its token. */
  session: (sessionId: string) => `session:${sessionId}`,
};

const retryAfter = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000));

async function refusal(db: Database, key: string, now: number, until: string): Promise<Verdict> {
  const row = await db.prepare(`SELECT ${until} AS until FROM throttle WHERE key = ?`).bind(key).first<{ until: number }>();
  return { ok: false, retryAfterSeconds: retryAfter(row?.until ?? now, now) };
}

/**
 * One hit against a fixed window if `counts`: allowed while the window holds fewer than `limit`
 * hits. When `counts` is false the statement selects no row, so it writes nothing (the table holds
 * no empty counters) and answers false, but it is the same statement: callers that must not differ
 * in the work they do can run it on every branch. True if the hit was counted.
 */
async function charge(db: Database, key: string, rule: WindowLimit, now: number, counts = true): Promise<boolean> {
  const counted = await db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at) SELECT ?1, 1, 0, ?2 + ?3 WHERE ?5 = 1
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END,
         forget_at = CASE WHEN throttle.forget_at <= ?2 THEN ?2 + ?3 ELSE throttle.forget_at END
       WHERE throttle.forget_at <= ?2 OR throttle.hits < ?4
       RETURNING hits`,
    )
    .bind(key, now, rule.windowSeconds * 1000, rule.limit, counts ? 1 : 0)
    .first<{ hits: number }>();
  return counted !== null;
}

/**
 * One hit against a fixed window; when refused, how long until the window ends. These per-client
 * counters are soft state (db.ts softWrites): the cheap requests that each charge one would
 * otherwise wait for a disk flush apiece. A process crash loses none of them; a machine crash may
 * lose the last second's, which gives a client that many requests again, and never touches an
 * account (docs/reliability.md).
 */
export async function hit(db: Database, key: string, rule: WindowLimit, now: number): Promise<Verdict> {
  if (rule.limit === 0) return ALLOWED;
  return (await charge(softWrites(db), key, rule, now)) ? ALLOWED : refusal(db, key, now, 'forget_at');
}

/**
 * May a mail go to this address on behalf of this client? Two allowances: one per (address,
 * client), so that no client can spend another's, and a larger ceiling per address, so that many
 * clients together cannot bomb one inbox. A client over its own allowance does not touch the
 * ceiling. `mails` is false when the request would send nothing (a resend for an unknown address):
 * then nothing is counted, yet the same two statements run, so that the work depends on the
 * address's state no more than the insert that follows does. The caller answers the same whatever
 * this returns.
 */
export async function chargeMail(
  db: Database,
  policy: Pick<ThrottlePolicy, 'mailPerAddressClient' | 'mailPerAddress'>,
  emailKey: string,
  clientKey: string,
  now: number,
  mails = true,
): Promise<boolean> {
  const { mailPerAddressClient: own, mailPerAddress: ceiling } = policy;
  const ownOk = own.limit === 0 ? mails : await charge(db, keys.mailFrom(emailKey, clientKey), own, now, mails);
  const ceilingOk = ceiling.limit === 0 ? ownOk : await charge(db, keys.mail(emailKey), ceiling, now, ownOk);
  return ownOk && ceilingOk;
}

/** The wait imposed after the n-th consecutive failure, in seconds. */
export function backoffSeconds(failures: number, policy: BackoffPolicy): number {
  if (failures <= policy.freeFailures) return 0;
  const doublings = Math.min(failures - policy.freeFailures - 1, MAX_SHIFT);
  return Math.min(policy.baseSeconds * 2 ** doublings, policy.maxSeconds);
}

/** backoffSeconds() in SQL, in milliseconds, for the failure count that `n` evaluates to. */
function waitSql(n: string, policy: BackoffPolicy): string {
  const free = policy.freeFailures;
  return `(CASE WHEN ${n} <= ${free} THEN 0
    ELSE min(${policy.baseSeconds * 1000} * (1 << min(${n} - ${free + 1}, ${MAX_SHIFT})), ${policy.maxSeconds * 1000}) END)`;
}

/**
 * Charges one login attempt to an address before the password is checked, so that parallel
 * guesses are counted as they arrive rather than after they have all been verified. Refused while
 * the address is waiting out its back-off, and once NIST_FAILURE_CEILING attempts have counted,
 * until they are forgotten (a refusal writes nothing, so a steady guesser cannot put that off).
 * A success must run clearLoginFailures().
 */
export async function chargeLoginAttempt(db: Database, key: string, policy: BackoffPolicy, now: number): Promise<Verdict> {
  const failures = 'CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END';
  const counted = await db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at)
       VALUES (?1, 1, ?2 + ${waitSql('1', policy)}, ?2 + ${waitSql('1', policy)} + ?3)
       ON CONFLICT (key) DO UPDATE SET
         hits = ${failures},
         wait_until = ?2 + ${waitSql(failures, policy)},
         forget_at = ?2 + ${waitSql(failures, policy)} + ?3
       WHERE (throttle.wait_until <= ?2 AND throttle.hits < ${NIST_FAILURE_CEILING}) OR throttle.forget_at <= ?2
       RETURNING hits`,
    )
    .bind(key, now, policy.resetSeconds * 1000)
    .first<{ hits: number }>();
  return counted ? ALLOWED : refusal(db, key, now, `CASE WHEN hits >= ${NIST_FAILURE_CEILING} THEN forget_at ELSE wait_until END`);
}

/**
 * A failed guess that did not wait for the address's back-off (one made through a known device,
 * or by a session: they skip it so that a stranger cannot keep the owner out), counted toward the
 * address all the same: the waits and the ceiling that attempts without them meet grow with it.
 * Never refused; the wait it sets never ends sooner than the one already running.
 */
export function countFailure(db: Database, key: string, policy: BackoffPolicy, now: number): Statement {
  const failures = 'CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END';
  return db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at)
       VALUES (?1, 1, ?2 + ${waitSql('1', policy)}, ?2 + ${waitSql('1', policy)} + ?3)
       ON CONFLICT (key) DO UPDATE SET
         hits = ${failures},
         wait_until = max(throttle.wait_until, ?2 + ${waitSql(failures, policy)}),
         forget_at = max(throttle.forget_at, ?2 + ${waitSql(failures, policy)} + ?3)`,
    )
    .bind(key, now, policy.resetSeconds * 1000);
}

/**
 * The right password was given: earlier failures no longer count (NIST SP 800-63B). The
 * statement, for the caller to run in the batch of the login's other writes, so that a success
 * costs one write round trip after its charge. With `onlyIf`, only while that condition holds (a
 * password reset clears them only if it is the reset that won: lib/storage/resets.ts).
 */
export function clearLoginFailures(db: Database, key: string, onlyIf?: Condition): Statement {
  if (!onlyIf) return db.prepare('DELETE FROM throttle WHERE key = ?').bind(key);
  return db.prepare(`DELETE FROM throttle WHERE key = ? AND ${onlyIf.sql}`).bind(key, ...onlyIf.values);
}

/**
 * The most failed attempts an attacker who never pauses can make against one address within
 * `horizonSeconds`, starting from a clean slate: every attempt made the moment it is allowed.
 * Waits never shrink as failures grow, so the densest stretch is the one that starts fresh, and a
 * fresh start needs `resetSeconds` of quiet; with resetSeconds ≥ the horizon this bounds every
 * window of that length.
 */
export function worstCaseFailures(policy: BackoffPolicy, horizonSeconds: number): number {
  let t = 0;
  let n = 0;
  while (t < horizonSeconds) {
    n += 1;
    const wait = backoffSeconds(n, policy);
    if (wait === 0 && n > 10_000) return Infinity;
    t += wait;
  }
  return n;
}
