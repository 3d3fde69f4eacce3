/**
 * A database that counts what goes through it: trips (each first/all/run is one, a whole batch is
 * one), statements, writes, rows changed and commits. tests/database-cost.test.ts asserts the
 * counts of each flow; bench/database-cost.ts prints them in the benchmark's table.
 */
import type { Database, RunResult, SqlValue, Statement } from '../../lib/storage/db.ts';

export interface Cost {
  trips: number;
  statements: number;
  writes: number;
  rows: number;
  commits: number;
}

const WRITE = /^\s*(insert|update|delete|replace)\b/i;

interface Recorded extends Statement {
  sql: string;
  inner: Statement;
}

/** A database that counts what goes through it into `cost`. */
export function counting(db: Database, cost: Cost): Database {
  const trip = (statements: Recorded[], changes: number[]) => {
    cost.trips += 1;
    cost.statements += statements.length;
    cost.writes += statements.filter((s) => WRITE.test(s.sql)).length;
    const rows = changes.reduce((a, b) => a + b, 0);
    cost.rows += rows;
    if (rows > 0) cost.commits += 1;
  };
  // A write read through first() or all() must say what it wrote with RETURNING, or its rows could
  // not be counted; every such statement in lib/ keys one row, and RETURNING returns each it wrote.
  const rowsOf = (s: Recorded, results: unknown[]) => {
    if (!WRITE.test(s.sql)) return 0;
    if (!/\breturning\b/i.test(s.sql)) throw new Error(`a write read without RETURNING cannot be counted: ${s.sql}`);
    return results.length;
  };
  const wrap = (sql: string, inner: Statement): Recorded => {
    const self: Recorded = {
      sql,
      inner,
      bind: (...values: SqlValue[]) => wrap(sql, inner.bind(...values)),
      async first<T>() {
        const { results } = await inner.all<T>();
        trip([self], [rowsOf(self, results)]);
        return results[0] ?? null;
      },
      async all<T>() {
        const out = await inner.all<T>();
        trip([self], [rowsOf(self, out.results)]);
        return out;
      },
      async run() {
        const out = await inner.run();
        trip([self], [WRITE.test(sql) ? out.meta.changes : 0]);
        return out;
      },
    };
    return self;
  };
  return {
    prepare: (sql) => wrap(sql, db.prepare(sql)),
    async batch(statements): Promise<RunResult[]> {
      const recorded = statements as Recorded[];
      const out = await db.batch(recorded.map((s) => s.inner));
      trip(
        recorded,
        out.map((r, i) => (WRITE.test(recorded[i]!.sql) ? r.meta.changes : 0)),
      );
      return out;
    },
  };
}

export const zero = (): Cost => ({ trips: 0, statements: 0, writes: 0, rows: 0, commits: 0 });

