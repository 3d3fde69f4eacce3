/**
 * A database that counts what goes through it: trips (each first/all/run is one, a whole batch is
 * one), statements, writes, rows changed and commits. tests/database-cost.test.ts asserts the
 * counts of each flow; bench/database-cost.ts prints them in the benchmark's table.
 */
import type { Database } from '../../lib/storage/db.ts';
import { watched, type Returned } from './watched-database.ts';

export interface Cost {
  trips: number;
  statements: number;
  writes: number;
  rows: number;
  commits: number;
}

const WRITE = /^\s*(insert|update|delete|replace)\b/i;

/**
 * The rows a statement wrote. A write read through first() or all() must say what it wrote with
 * RETURNING, or its rows could not be counted; every such statement in lib/ keys one row, and
 * RETURNING returns each it wrote.
 */
function rowsWritten(sql: string, returned: Returned): number {
  if (!WRITE.test(sql)) return 0;
  if ('changes' in returned) return returned.changes;
  if (!/\breturning\b/i.test(sql)) throw new Error(`a write read without RETURNING cannot be counted: ${sql}`);
  return returned.rows.length;
}

/** A database that counts what goes through it into `cost`. */
export function counting(db: Database, cost: Cost): Database {
  return watched(db, (sent, returned) => {
    cost.trips += 1;
    cost.statements += sent.length;
    cost.writes += sent.filter((s) => WRITE.test(s.sql)).length;
    const rows = sent.reduce((sum, s, i) => sum + rowsWritten(s.sql, returned[i]!), 0);
    cost.rows += rows;
    if (rows > 0) cost.commits += 1;
  });
}

export const zero = (): Cost => ({ trips: 0, statements: 0, writes: 0, rows: 0, commits: 0 });

