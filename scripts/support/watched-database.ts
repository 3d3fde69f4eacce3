/**
 * A database that tells an observer what went through it, one trip at a time (each first/all/run
 * is a trip, a whole batch is one): each statement's SQL with the values bound to it, and what it
 * gave back. What the counting database (database-cost.ts) and the statement surveys
 * (statement-survey.ts) are built on.
 */
import type { Database, RunResult, SqlValue, Statement } from '../../lib/storage/db.ts';

/** A statement as it went to the database. */
export interface Sent {
  sql: string;
  values: SqlValue[];
}

/** What a statement gave back: the rows it returned (first, all) or the rows it changed (run, batch). */
export type Returned = { rows: unknown[] } | { changes: number };

interface Watched extends Statement {
  sent: Sent;
  inner: Statement;
}

/** `db`, with `onTrip` told of every trip that succeeded, after it. */
export function watched(db: Database, onTrip: (sent: Sent[], returned: Returned[]) => void): Database {
  const wrap = (sent: Sent, inner: Statement): Watched => ({
    sent,
    inner,
    bind: (...values: SqlValue[]) => wrap({ sql: sent.sql, values }, inner.bind(...values)),
    // first() as all(): every row it could have returned is what an observer may need to count.
    async first<T>() {
      const { results } = await inner.all<T>();
      onTrip([sent], [{ rows: results }]);
      return results[0] ?? null;
    },
    async all<T>() {
      const out = await inner.all<T>();
      onTrip([sent], [{ rows: out.results }]);
      return out;
    },
    async run() {
      const out = await inner.run();
      onTrip([sent], [{ changes: out.meta.changes }]);
      return out;
    },
  });
  return {
    prepare: (sql) => wrap({ sql, values: [] }, db.prepare(sql)),
    async batch(statements): Promise<RunResult[]> {
      const parts = statements as Watched[];
      const out = await db.batch(parts.map((p) => p.inner));
      onTrip(
        parts.map((p) => p.sent),
        out.map((r) => ({ changes: r.meta.changes })),
      );
      return out;
    },
  };
}
