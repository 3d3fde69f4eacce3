/**
 * Fault injection through the Database interface: a wrapper that fails the Nth statement a request
 * runs. A lone statement (first/all/run) fails before it reaches the database, as when the
 * connection is lost. A statement inside a batch is replaced by one that fails inside the real
 * backend after the statements before it have run, so the backend's own all-or-nothing is what
 * keeps the database as it was.
 */
import type { Database, RunResult, SqlValue, Statement } from '../../lib/storage/db.ts';

export interface FaultPlan {
  /** Count statements (and fail the Nth) only while armed, so a test's setup runs untouched. */
  armed: boolean;
  /** 1-based number of the statement to fail; null counts without failing. */
  failAt: number | null;
  /** Statements counted since arming: what each was, in order. */
  seen: string[];
  /** Batches that completed while armed: each statement's SQL, bound values and rows changed. */
  batches: Array<{ sql: string[]; binds: SqlValue[][]; changes: number[] }>;
}

export const faultPlan = (): FaultPlan => ({ armed: false, failAt: null, seen: [], batches: [] });

export class InjectedFault extends Error {
  override name = 'InjectedFault';
}

// Fails when SQLite steps it (malformed JSON), on sql.js and on D1 alike: a runtime error in the
// middle of a batch, not a statement the driver could reject before the batch begins.
const FAILING_SQL = "SELECT json('injected fault: this is not JSON') AS boom";

type Wrapped = Statement & { inner: Statement; sql: string; values: SqlValue[] };

export function faultyDatabase(plan: FaultPlan): (db: Database) => Database {
  return (db) => {
    /** Counts one statement; true if it is the one to fail. */
    const tick = (what: string): boolean => {
      if (!plan.armed) return false;
      plan.seen.push(what);
      return plan.seen.length === plan.failAt;
    };
    const wrap = (inner: Statement, sql: string, bound: SqlValue[] = []): Wrapped => ({
      inner,
      sql,
      values: bound,
      bind: (...values) => wrap(inner.bind(...values), sql, values),
      first: <T>() => (tick(`first: ${brief(sql)}`) ? Promise.reject(new InjectedFault(sql)) : inner.first<T>()),
      all: <T>() => (tick(`all: ${brief(sql)}`) ? Promise.reject(new InjectedFault(sql)) : inner.all<T>()),
      run: () => (tick(`run: ${brief(sql)}`) ? Promise.reject(new InjectedFault(sql)) : inner.run()),
    });
    return {
      prepare: (sql) => wrap(db.prepare(sql), sql),
      async batch(statements): Promise<RunResult[]> {
        const inner = (statements as Wrapped[]).map((s) => s.inner ?? s);
        const failing = (statements as Wrapped[]).map((s) => tick(`batch[${statements.length}]: ${brief(s.sql)}`)).indexOf(true);
        if (failing < 0) {
          const results = await db.batch(inner);
          if (plan.armed) {
            const wrapped = statements as Wrapped[];
            plan.batches.push({ sql: wrapped.map((s) => s.sql), binds: wrapped.map((s) => s.values ?? []), changes: results.map((r) => r.meta.changes) });
          }
          return results;
        }
        inner[failing] = db.prepare(FAILING_SQL);
        await db.batch(inner);
        throw new InjectedFault(`batch statement ${failing + 1} did not fail as injected`);
      },
    };
  };
}

const brief = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 60);
