/**
 * The Database interface (lib/storage/db.ts, D1's subset) on a sql.js connection: statements that
 * bind like D1's, reads straight from memory, and each run() or batch() one transaction whose
 * journal entry is durable before it commits (journal.ts says how that survives a crash).
 */
import type { Database as SqlJsDb } from 'sql.js';
import type { Database, RunResult, SqlValue, Statement } from '../db.ts';
import { appendEntry, cutBack, storeSeq, type Journal } from './journal.ts';
import { snapshotDue, writeSnapshot, type Snapshots } from './snapshot.ts';
import { execute, rollbackQuietly, type Executed, type Row, type Statements } from './statements.ts';

/** The state behind one open database. */
export interface Engine {
  readonly db: SqlJsDb;
  readonly statements: Statements;
  /** Absent for a database that lives only in memory. */
  readonly journal: Journal | undefined;
  readonly snapshots: Snapshots | undefined;
  readonly onSnapshotFailed: ((error: unknown) => void) | undefined;
  /** The last write the database holds, as numbered in the journal. */
  seq: number;
}

interface BoundStatement extends Statement {
  readonly sql: string;
  readonly params: SqlValue[];
}

export function databaseOver(engine: Engine): Database {
  return {
    prepare: (sql) => statement(engine, sql, []),
    batch: async (statements) => write(engine, statements as BoundStatement[]),
  };
}

function statement(engine: Engine, sql: string, params: SqlValue[]): BoundStatement {
  return {
    sql,
    params,
    bind: (...values) => statement(engine, sql, values),
    first: async <T>() => (read(engine, sql, params)[0] as T | undefined) ?? null,
    all: async <T>() => ({ results: read(engine, sql, params) as T[] }),
    run: async () => write(engine, [statement(engine, sql, params)])[0]!,
  };
}

/** A statement that may write (a SELECT … RETURNING, say) still goes through a transaction. */
function read(engine: Engine, sql: string, params: SqlValue[]): Row[] {
  if (/^\s*(select|with)\b/i.test(sql) && !/\breturning\b/i.test(sql)) return execute(engine.statements, sql, params, false).rows;
  let rows: Row[] = [];
  transaction(engine, [[sql, params]], (results) => (rows = results[0]!.rows));
  return rows;
}

function write(engine: Engine, statements: BoundStatement[]): RunResult[] {
  let out: RunResult[] = [];
  transaction(
    engine,
    statements.map((s) => [s.sql, s.params]),
    (results) => (out = results.map((r) => ({ meta: { changes: r.changes } }))),
  );
  return out;
}

/**
 * Runs the ops atomically. If they changed anything, their journal entry is on disk (fsynced)
 * before COMMIT, and COMMIT happens only if it is: memory never runs ahead of the file, and
 * a write that fails leaves neither a row in memory nor a line in the journal.
 */
function transaction(engine: Engine, ops: Array<[string, SqlValue[]]>, done: (results: Executed[]) => void): void {
  const { db, journal } = engine;
  db.run('BEGIN IMMEDIATE');
  let journalled = false;
  const journalBefore = journal?.bytes ?? 0;
  try {
    const results = ops.map(([sql, params]) => execute(engine.statements, sql, params));
    if (results.some((r) => r.changes > 0)) {
      const seq = engine.seq + 1;
      storeSeq(db, seq);
      if (journal) appendEntry(journal, { seq, ops });
      journalled = true;
      db.run('COMMIT');
      journalled = false; // committed: the line stays
      engine.seq = seq;
    } else {
      db.run('COMMIT');
    }
    done(results);
  } catch (error) {
    rollbackQuietly(db);
    // The entry is in the journal but its transaction did not commit (a deferred constraint, say):
    // take it back out, or a restart would replay a write whose caller was told it failed.
    if (journalled && journal) {
      journal.bytes = journalBefore;
      try {
        cutBack(journal);
      } catch {
        // tailUnknown stays set: the next write, snapshot or close cuts it first.
      }
    }
    throw error;
  }
  snapshotIfDue(engine);
}

function snapshotIfDue(engine: Engine): void {
  const { snapshots } = engine;
  if (!snapshots || !snapshotDue(snapshots)) return;
  try {
    writeSnapshot(engine.db, snapshots);
  } catch (error) {
    // The write that got us here is durable in the journal already: failing it now would tell
    // its caller "nothing changed" about a change that a restart brings back.
    engine.onSnapshotFailed?.(error);
  }
}
