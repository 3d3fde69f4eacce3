/**
 * Throttling with counters in the database, so that limits hold across Workers isolates, restarts
 * and the Node server alike. Each check is one atomic upsert: the statement itself decides whether
 * the attempt is allowed (its DO UPDATE has a WHERE), so concurrent requests cannot all slip in
 * between a read and a write. A refused attempt writes nothing; only then is the row read again,
 * to say how long to wait.
 *
 * Two shapes of limit share the `throttle` table:
 * - windows: at most `limit` hits per `windowSeconds` (fixed window) — per client and endpoint,
 *   and mails per (address, client) under a larger per-address ceiling, with a small allowance
 *   past it for clients new to the address (mailCharges());
 * - back-off: failed logins per address. A few are free, then each further attempt must wait a
 *   time that doubles up to a ceiling; after NIST_FAILURE_CEILING of them no attempt counts until
 *   `resetSeconds` of quiet forget them. A success clears it. Someone who knows only the address
 *   can keep it waiting for ever, so the owner's known devices skip it (lib/storage/devices.ts).
 */
import { newPublicId } from '../crypto/tokens.ts';
import type { Endpoint, ThrottlePolicy, WindowLimit } from '../config/throttle-settings.ts';
import { MAX_SHIFT, NIST_FAILURE_CEILING, type BackoffPolicy } from '../policy/login-backoff.ts';
import { allOf, namedResults, not, numbered, rowsOf, runBatch, softWrites, statementsOf, type BatchResults, type Condition, type Database, type RunResult, type Statement } from './db.ts';

export type Verdict = { ok: true } | { ok: false; retryAfterSeconds: number };

const ALLOWED: Verdict = { ok: true };

export const keys = {
  client: (endpoint: Endpoint, clientKey: string) => `client:${endpoint}:${clientKey}`,
  mail: (emailKey: string) => `mail:${emailKey}`,
  mailFrom: (emailKey: string, clientKey: string) => `mail:${emailKey}:from:${clientKey}`,
  mailNewClients: (emailKey: string) => `mail:${emailKey}:new-clients`,
  mailRequests: 'mail-requests',
  /** Where a charge that counts nothing writes: a window of no length, so every hit starts it anew. */
  uncounted: 'uncounted',
  login: (emailKey: string) => `login:${emailKey}`,
  /** A session's own password checks (lib/flows/password-check.ts): its id, never its token. */
  session: (sessionId: string) => `session:${sessionId}`,
  /** A mark that lives within one batch (factorMark): a random id, never an account's. */
  mark: (id: string) => `mark:${id}`,
};

const retryAfter = (until: number, now: number) => Math.max(1, Math.ceil((until - now) / 1000));

/**
 * The per-client window's hit for one request, not yet run: it rides in the first batch of the
 * flow it admits (runAdmitted), so that the window costs no round trip of its own. `admits` holds
 * inside that batch exactly when the hit will count (the hit's own WHERE, read before it runs), and
 * guards every write the batch makes before it: a refused request changes nothing but what a
 * refusal changes (nothing). `spent` says whether it has run, so that a request that ends before
 * its flow's first trip (a body that fails validation, say) is still charged, alone.
 */
export interface Admission {
  readonly key: string;
  readonly rule: WindowLimit;
  readonly now: number;
  readonly admits: Condition;
  spent: boolean;
}

/** The window's hit for this client and endpoint; null when the limit is off. */
export function clientAdmission(key: string, rule: WindowLimit, now: number): Admission | null {
  if (rule.limit === 0) return null;
  const admits = {
    sql: 'NOT EXISTS (SELECT 1 FROM throttle WHERE key = ? AND forget_at > ? AND hits >= ?)',
    values: [key, now, rule.limit],
  };
  return { key, rule, now, admits, spent: false };
}

/** What guards a write in the first batch of a request that `admission` admits (all when there is none). */
export const admitted = (admission: Admission | null): Condition => admission?.admits ?? { sql: '1', values: [] };

/** The hit, and the window as it stands after it: its end, and whether the hit counted. */
function admissionStatements(db: Database, admission: Admission): Statement[] {
  const { key, rule, now } = admission;
  return [
    db.prepare('SELECT forget_at AS until FROM throttle WHERE key = ? AND forget_at > ? AND hits >= ?').bind(key, now, rule.limit),
    db
      .prepare(
        `INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?1, 1, 0, ?2 + ?3)
         ON CONFLICT (key) DO UPDATE SET
           hits = CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END,
           forget_at = CASE WHEN throttle.forget_at <= ?2 THEN ?2 + ?3 ELSE throttle.forget_at END
         WHERE throttle.forget_at <= ?2 OR throttle.hits < ?4`,
      )
      .bind(key, now, rule.windowSeconds * 1000, rule.limit),
  ];
}

function verdictOf(admission: Admission, refusedUntil: RunResult | undefined): Verdict {
  const [refused] = rowsOf<{ until: number }>(refusedUntil);
  return refused ? { ok: false, retryAfterSeconds: retryAfter(refused.until, admission.now) } : ALLOWED;
}

/**
 * One batch: the window's state read first, the flow's named parts (each write among them guarded
 * by admitted(admission)), the hit last. The parts' guards and the state read see the window as
 * it was before this request, so they agree with the hit. `soft` when the parts only read, or
 * write soft state only (the mail allowances of a request whose next batch commits on every branch:
 * lib/flows/resend-activation.ts): the batch then writes nothing a machine crash must keep (spendAdmission()).
 */
export async function runAdmitted<P extends Record<string, Statement | readonly Statement[] | undefined>>(
  db: Database,
  admission: Admission | null,
  parts: P,
  options: { soft?: boolean } = {},
): Promise<{ verdict: Verdict; done: BatchResults<P> }> {
  const target = options.soft ? softWrites(db) : db;
  if (!admission) return { verdict: ALLOWED, done: await runBatch(target, parts) };
  admission.spent = true;
  const [state, hitStatement] = admissionStatements(target, admission);
  const statements = statementsOf(parts, [state!]);
  statements.push(hitStatement!);
  const results = await target.batch(statements);
  return { verdict: verdictOf(admission, results[0]), done: namedResults(parts, results, 1) };
}

/**
 * The window's hit alone, for a request that ended before its flow's first trip. These per-client
 * counters are soft state (db.ts softWrites): the cheap requests that each charge one would
 * otherwise wait for a disk flush apiece. A process crash loses none of them; a machine crash may
 * lose the last second's, which gives a client that many requests again, and never touches an
 * account (docs/reliability.md).
 */
export async function spendAdmission(db: Database, admission: Admission | null): Promise<Verdict> {
  if (!admission || admission.spent) return ALLOWED;
  admission.spent = true;
  const [state, hitStatement] = admissionStatements(softWrites(db), admission);
  const results = await softWrites(db).batch([state!, hitStatement!]);
  return verdictOf(admission, results[0]);
}

/**
 * May a mail go to this address on behalf of this client? Three allowances: one per (address,
 * client), so that no client can spend another's; a larger ceiling per address, so that many
 * clients together cannot bomb one inbox; and, once that ceiling is spent, a few more for a client
 * whose first request for the address this is (in its own window), so that clients which spent the
 * ceiling cannot keep the owner, asking from a device of their own, from getting a link. Those few
 * are counted per address too, so a botnet of new clients gets no more than ceiling + that many.
 * A client over its own allowance touches neither of the others.
 *
 * The three charges are statements for one batch, each deciding in SQL what depends on the others
 * (tests/statement-boundaries.test.ts holds them to a model that decides in code, trip by trip). They run in reverse order — the new-clients allowance,
 * the ceiling, the client's own — so that every condition a charge depends on reads rows that no
 * statement of the batch has written yet: the ceiling counts only if the client's own window was
 * open before this request, the new-clients allowance only if that window had no live hit (this is
 * the client's first request for the address) and the ceiling was already spent. `mails` (in SQL)
 * says whether the request would mail at all; `admits` guards every write (admitted(), in the
 * window's batch; none in a later one). A charge whose condition does not hold runs against
 * keys.uncounted, so each statement changes a row on every branch under the
 * allowances, whatever the address. Each returns its key when it counted: mailVerdict() reads the
 * answer back. `allows` is that answer as a condition, for a mail insert placed BEFORE the charges
 * in the same batch (it reads the counters as they were before them).
 */
export function mailCharges(
  db: Database,
  policy: Pick<ThrottlePolicy, 'mailPerAddressClient' | 'mailPerAddress' | 'mailNewClients'>,
  emailKey: string,
  clientKey: string,
  now: number,
  { mails, admits }: { mails: Condition; admits: Condition },
) {
  const { mailPerAddressClient: own, mailPerAddress: ceiling, mailNewClients: newClients } = policy;
  const ownKey = keys.mailFrom(emailKey, clientKey);
  const ceilingKey = keys.mail(emailKey);
  const full = (key: string, rule: WindowLimit): Condition => ({
    sql: 'EXISTS (SELECT 1 FROM throttle WHERE key = ? AND forget_at > ? AND hits >= ?)',
    values: [key, now, rule.limit],
  });
  const live: Condition = { sql: 'EXISTS (SELECT 1 FROM throttle WHERE key = ? AND forget_at > ?)', values: [ownKey, now] };
  // With no allowance of its own, every request of a client is its first, and always within it.
  const ownOpen = own.limit === 0 ? mails : allOf(mails, not(full(ownKey, own)));
  const ownFirst = own.limit === 0 ? mails : allOf(mails, not(live));
  const newKey = keys.mailNewClients(emailKey);
  const charge = (key: string, rule: WindowLimit, counts: Condition) => countedCharge(db, key, rule, now, counts, admits);
  const withNewClients = ceiling.limit !== 0 && newClients.limit !== 0;
  const ceilingOk = ceiling.limit === 0 ? ownOpen : allOf(ownOpen, not(full(ceilingKey, ceiling)));
  const newClientOk = allOf(ownFirst, full(ceilingKey, ceiling), not(full(newKey, newClients)));
  return {
    charges: {
      newClients: withNewClients ? charge(newKey, newClients, allOf(ownFirst, full(ceilingKey, ceiling))) : undefined,
      ceiling: ceiling.limit === 0 ? undefined : charge(ceilingKey, ceiling, ownOpen),
      own: own.limit === 0 ? undefined : charge(ownKey, own, mails),
    },
    allows: allOf(admits, withNewClients ? { sql: `(${ceilingOk.sql}) OR (${newClientOk.sql})`, values: [...ceilingOk.values, ...newClientOk.values] } : ceilingOk),
  };
}

/** What mailCharges() decided: may the mail go? `mails` as the caller read it in the same batch. */
export function mailVerdict(
  policy: Pick<ThrottlePolicy, 'mailPerAddressClient' | 'mailPerAddress' | 'mailNewClients'>,
  done: { newClients: RunResult | undefined; ceiling: RunResult | undefined; own: RunResult | undefined },
  mails: boolean,
): boolean {
  const counted = (result: RunResult | undefined) => rowsOf<{ key: string }>(result).some((row) => row.key !== keys.uncounted);
  const ownOk = policy.mailPerAddressClient.limit === 0 ? mails : counted(done.own);
  const ceilingOk = policy.mailPerAddress.limit === 0 ? ownOk : counted(done.ceiling);
  return ceilingOk || counted(done.newClients);
}

/**
 * One hit against a fixed window, as a statement whose `counts` is decided in SQL: the hit goes to `key` while `counts`
 * holds, else to keys.uncounted, and nowhere unless `admits` holds. RETURNING the key it charged.
 */
function countedCharge(db: Database, key: string, rule: WindowLimit, now: number, counts: Condition, admits: Condition): Statement {
  return db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at)
       SELECT CASE WHEN counts THEN ?1 ELSE ?5 END, 1, 0, ?2 + CASE WHEN counts THEN ?3 ELSE 0 END
       FROM (SELECT (${numbered(counts.sql, 6)}) AS counts) WHERE ${numbered(admits.sql, 6 + counts.values.length)}
       ON CONFLICT (key) DO UPDATE SET
         hits = CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END,
         forget_at = CASE WHEN throttle.forget_at <= ?2 THEN excluded.forget_at ELSE throttle.forget_at END
       WHERE throttle.forget_at <= ?2 OR throttle.hits < ?4
       RETURNING key`,
    )
    .bind(key, now, rule.windowSeconds * 1000, rule.limit, keys.uncounted, ...counts.values, ...admits.values);
}

/**
 * A write that changes one row on every branch of a mail request, for the batch that ends it: the
 * batch then commits, and waits for its fsync, whatever the address is, instead of only when it
 * stores a link (issue 23 §2: over HTTP that fsync told known addresses from unknown ones). It
 * marks when the last such request came, under one fixed key, so it stores nothing about the
 * address, and the purge may drop it like any expired counter.
 */
export function markMailRequest(db: Database, now: number): Statement {
  return db
    .prepare(`INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?1, 1, 0, ?2) ON CONFLICT (key) DO UPDATE SET forget_at = ?2`)
    .bind(keys.mailRequests, now + 3600_000);
}

/** backoffSeconds() in SQL, in milliseconds, for the failure count that `n` evaluates to. */
function waitSql(n: string, policy: BackoffPolicy): string {
  const free = policy.freeFailures;
  return `(CASE WHEN ${n} <= ${free} THEN 0
    ELSE min(${policy.baseSeconds * 1000} * (1 << min(${n} - ${free + 1}, ${MAX_SHIFT})), ${policy.maxSeconds * 1000}) END)`;
}

/**
 * Charges one login attempt to an address before the password is checked, so that parallel
 * guesses are counted as they arrive rather than after they have all been verified: the charge
 * (RETURNING the count when it counted), while `onlyIf` holds, then the end of the wait that
 * refused it if it did not, for a flow's first batch. Refused while the address is waiting out its
 * back-off, and once NIST_FAILURE_CEILING attempts have counted, until they are forgotten (a
 * refusal writes nothing, so a steady guesser cannot put that off). A success must run
 * clearLoginFailures().
 */
export function loginAttempt(db: Database, key: string | Condition, policy: BackoffPolicy, now: number, onlyIf: Condition = { sql: '1', values: [] }) {
  const failures = 'CASE WHEN throttle.forget_at <= ?1 THEN 1 ELSE throttle.hits + 1 END';
  // The key as a value, or as an expression the batch works out (the address of a challenge's account).
  const keyed: Condition = typeof key === 'string' ? { sql: '?', values: [key] } : key;
  const keySql = numbered(keyed.sql, 3);
  // An insert from a SELECT that `onlyIf` empties reaches neither the insert nor the update.
  return {
    attempt: db
      .prepare(
        `INSERT INTO throttle (key, hits, wait_until, forget_at)
         SELECT k, 1, ?1 + ${waitSql('1', policy)}, ?1 + ${waitSql('1', policy)} + ?2 FROM (SELECT ${keySql} AS k)
         WHERE k IS NOT NULL AND ${numbered(onlyIf.sql, 3 + keyed.values.length)}
         ON CONFLICT (key) DO UPDATE SET
           hits = ${failures},
           wait_until = ?1 + ${waitSql(failures, policy)},
           forget_at = ?1 + ${waitSql(failures, policy)} + ?2
         WHERE ((throttle.wait_until <= ?1 AND throttle.hits < ${NIST_FAILURE_CEILING}) OR throttle.forget_at <= ?1)
         RETURNING hits`,
      )
      .bind(now, policy.resetSeconds * 1000, ...keyed.values, ...onlyIf.values),
    refusedUntil: db
      .prepare(`SELECT CASE WHEN hits >= ${NIST_FAILURE_CEILING} THEN forget_at ELSE wait_until END AS until FROM throttle WHERE key = ${keyed.sql}`)
      .bind(...keyed.values),
  };
}

/** What loginAttempt()'s statements answered: allowed when the charge counted. */
export function attemptVerdict(attempt: RunResult, refusedUntil: RunResult, now: number): Verdict {
  if (rowsOf(attempt).length > 0) return ALLOWED;
  const [row] = rowsOf<{ until: number }>(refusedUntil);
  return { ok: false, retryAfterSeconds: retryAfter(row?.until ?? now, now) };
}


/**
 * A failed guess that did not wait for the address's back-off (one made through a known device,
 * or by a session: they skip it so that a stranger cannot keep the owner out), counted toward the
 * address all the same: the waits and the ceiling that attempts without them meet grow with it.
 * Never refused; the wait it sets never ends sooner than the one already running.
 */
export function countFailure(db: Database, key: string, policy: BackoffPolicy, now: number, onlyIf: Condition = { sql: '1', values: [] }): Statement {
  const failures = 'CASE WHEN throttle.forget_at <= ?2 THEN 1 ELSE throttle.hits + 1 END';
  return db
    .prepare(
      `INSERT INTO throttle (key, hits, wait_until, forget_at)
       SELECT ?1, 1, ?2 + ${waitSql('1', policy)}, ?2 + ${waitSql('1', policy)} + ?3 WHERE ${numbered(onlyIf.sql, 4)}
       ON CONFLICT (key) DO UPDATE SET
         hits = ${failures},
         wait_until = max(throttle.wait_until, ?2 + ${waitSql(failures, policy)}),
         forget_at = max(throttle.forget_at, ?2 + ${waitSql(failures, policy)} + ?3)`,
    )
    .bind(key, now, policy.resetSeconds * 1000, ...onlyIf.values);
}

/**
 * A condition held fixed through the rest of a batch: `set` writes a row under a random key while
 * `condition` holds as it runs, `holds` is true from then on exactly when it did, and `unset` takes
 * the row away again before the batch commits. For a guard whose own statement would change what
 * it reads (a second factor spent, then its tables deleted with the account).
 */
export function batchMark(db: Database, condition: Condition, now: number) {
  const key = keys.mark(newPublicId());
  return {
    set: db
      .prepare(`INSERT INTO throttle (key, hits, wait_until, forget_at) SELECT ?, 1, 0, ? WHERE ${condition.sql}`)
      .bind(key, now, ...condition.values),
    holds: { sql: 'EXISTS (SELECT 1 FROM throttle WHERE key = ?)', values: [key] } satisfies Condition,
    unset: db.prepare('DELETE FROM throttle WHERE key = ?').bind(key),
  };
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
