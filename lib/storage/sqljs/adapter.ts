/**
 * The Database interface (lib/storage/db.ts, D1's subset) on a sql.js connection: statements that
 * bind like D1's, reads straight from memory, and each run() or batch() one unit, atomic, whose
 * journal entry is durable before it commits and before the call returns (group-commit.ts runs
 * them; journal.ts says how that survives a crash).
 */
import type { Database, RunResult, SqlValue, Statement } from '../db.ts';
import type { Engine } from './engine.ts';
import { commitWrite } from './group-commit.ts';
import { execute, onlyReads, type Row } from './statements.ts';

export type { Engine } from './engine.ts';

interface BoundStatement extends Statement {
  readonly sql: string;
  readonly params: SqlValue[];
}

export function databaseOver(engine: Engine): Database {
  return { ...over(engine, false), soft: over(engine, true) };
}

/** The interface over `engine`, its writes soft (db.ts) or durable. */
function over(engine: Engine, soft: boolean): Database {
  return {
    prepare: (sql) => statement(engine, soft, sql, []),
    batch: (statements) => write(engine, soft, statements as BoundStatement[]),
  };
}

function statement(engine: Engine, soft: boolean, sql: string, params: SqlValue[]): BoundStatement {
  return {
    sql,
    params,
    bind: (...values) => statement(engine, soft, sql, values),
    first: async <T>() => ((await read(engine, soft, sql, params))[0] as T | undefined) ?? null,
    all: async <T>() => ({ results: (await read(engine, soft, sql, params)) as T[] }),
    run: async () => (await write(engine, soft, [statement(engine, soft, sql, params)]))[0]!,
  };
}

/** A statement that may write (a SELECT … RETURNING, say) still goes through a transaction. */
async function read(engine: Engine, soft: boolean, sql: string, params: SqlValue[]): Promise<Row[]> {
  if (onlyReads(sql)) return execute(engine.statements, sql, params, false).rows;
  return (await commitWrite(engine, [[sql, params]], soft))[0]!.rows;
}

async function write(engine: Engine, soft: boolean, statements: BoundStatement[]): Promise<RunResult[]> {
  const results = await commitWrite(engine, statements.map((s) => [s.sql, s.params]), soft);
  return results.map((r) => ({ meta: { changes: r.changes }, results: r.rows }));
}
