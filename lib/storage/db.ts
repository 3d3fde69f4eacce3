/**
 * The database boundary: the subset of Cloudflare D1's client interface that Latchkey uses.
 * On Workers the D1 binding satisfies it as it is; on Node, `sqljs/open.ts` opens it (`sqljs/adapter.ts` implements it).
 * Nothing outside `lib/storage/` knows which driver sits behind it.
 */

export type SqlValue = string | number | null;

/** A SQL condition and the values it binds, for a statement that must run only while it holds. */
export interface Condition {
  sql: string;
  values: SqlValue[];
}

/** Every condition holds (none: always). */
export const allOf = (...conditions: Condition[]): Condition => ({
  sql: conditions.length === 0 ? '1' : conditions.map((c) => `(${c.sql})`).join(' AND '),
  values: conditions.flatMap((c) => c.values),
});

/**
 * A condition's anonymous `?` placeholders numbered from `first`, for a statement that numbers its
 * own (`?1`, `?2`, …) and appends the condition's values after them.
 */
export function numbered(sql: string, first: number): string {
  let n = first;
  return sql.replace(/\?/g, () => `?${n++}`);
}

export const not = (condition: Condition): Condition => ({ sql: `NOT (${condition.sql})`, values: condition.values });

export interface RunResult {
  meta: { changes: number };
  /** The rows a statement in a batch gave back (a SELECT, or a write's RETURNING), as D1 answers them. */
  results?: unknown[];
}

export interface Statement {
  bind(...values: SqlValue[]): Statement;
  first<T = Record<string, unknown>>(): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<{ results: T[] }>;
  run(): Promise<RunResult>;
}

export interface Database {
  prepare(sql: string): Statement;
  /** All statements commit together or none does (D1 semantics). */
  batch(statements: Statement[]): Promise<RunResult[]>;
  /**
   * The same database, for soft state: writes that a process crash never loses but a machine
   * crash may lose the last second of, because they do not wait for a disk flush of their own.
   * Only the per-client request counters use it (throttle.ts runAdmitted() and spendAdmission(),
   * for batches that write nothing else). Drivers without such a mode (D1) leave it out, and
   * those writes are then as durable as any.
   */
  readonly soft?: Database;
}

/** Each part of a named batch (runBatch), a statement, a list of them, or none, and what it gives back. */
type BatchPart = Statement | readonly Statement[] | undefined;
type ResultOf<T> = T extends readonly Statement[] ? RunResult[] : T extends Statement ? RunResult : undefined;
export type BatchResults<P extends Record<string, BatchPart>> = { [K in keyof P]: ResultOf<P[K]> };

/**
 * One db.batch() of named parts, run in the order they are written (their guards see the writes
 * of the parts before them), answered by the same names: a flow reads `changes.session`, never
 * the third result.
 */
export async function runBatch<P extends Record<string, BatchPart>>(db: Database, parts: P): Promise<BatchResults<P>> {
  return namedResults(parts, await db.batch(statementsOf(parts)), 0);
}

// Plain loops: runBatch() is on every request's path, and the cheap ones felt a flatMap and its
// closures (bench/profile.ts).

/** The statements of named parts, in the order the parts are written. */
export function statementsOf(parts: Record<string, BatchPart>, into: Statement[] = []): Statement[] {
  for (const name in parts) {
    const part = parts[name];
    if (part === undefined) continue;
    if (Array.isArray(part)) for (const statement of part as readonly Statement[]) into.push(statement);
    else into.push(part as Statement);
  }
  return into;
}

/** The results of a batch named as its parts were, the parts' first statement at `at`. */
export function namedResults<P extends Record<string, BatchPart>>(parts: P, results: RunResult[], at: number): BatchResults<P> {
  const named: Record<string, RunResult | RunResult[] | undefined> = {};
  for (const name in parts) {
    const part = parts[name];
    if (part === undefined) named[name] = undefined;
    else if (Array.isArray(part)) named[name] = results.slice(at, (at += part.length));
    else named[name] = results[at++];
  }
  return named as BatchResults<P>;
}

/** The rows one statement of a batch gave back, typed as the caller's SQL names its columns. */
export const rowsOf = <T>(result: RunResult | undefined): T[] => (result?.results ?? []) as T[];

/** Where soft state goes: `db.soft` where the driver has it, `db` itself otherwise. */
export const softWrites = (db: Database): Database => db.soft ?? db;

/** The database could not do what was asked; the request may succeed if retried later. */
export class DatabaseUnavailableError extends Error {
  override name = 'DatabaseUnavailableError';
}

/**
 * Wraps a driver so that every failure surfaces as DatabaseUnavailableError, whatever the
 * driver throws. Handlers then answer 503 with Retry-After instead of leaking driver text.
 */
export function guardDatabase(db: Database): Database {
  const fail = (cause: unknown): never => {
    throw new DatabaseUnavailableError('database operation failed', { cause });
  };
  const wrap = (inner: Statement): Statement & { inner: Statement } => ({
    inner,
    bind: (...values) => wrap(inner.bind(...values)),
    first: <T>() => inner.first<T>().catch(fail),
    all: <T>() => inner.all<T>().catch(fail),
    run: () => inner.run().catch(fail),
  });
  return {
    ...(db.soft && { soft: guardDatabase(db.soft) }),
    prepare(sql) {
      try {
        return wrap(db.prepare(sql));
      } catch (cause) {
        return fail(cause);
      }
    },
    async batch(statements) {
      const inner = statements.map((s) => (s as Statement & { inner?: Statement }).inner ?? s);
      try {
        return await db.batch(inner);
      } catch (cause) {
        return fail(cause);
      }
    },
  };
}
