/**
 * Running SQL on the one sql.js connection: statements compiled once and kept, the rows each one
 * changed, and undoing an open transaction.
 */
import type { Database as SqlJsDb, Statement as SqlJsStatement } from 'sql.js';
import type { SqlValue } from '../db.ts';

/** The application uses a few dozen statements; anything past this is compiled per use. */
const MAX_CACHED_STATEMENTS = 200;

export type Row = Record<string, unknown>;

export interface Executed {
  rows: Row[];
  changes: number;
}

export interface Statements {
  readonly db: SqlJsDb;
  readonly kept: Map<string, SqlJsStatement>;
  /** The column names of each kept statement that has returned a row. */
  readonly columns: Map<SqlJsStatement, string[]>;
  readonly totalChanges: SqlJsStatement;
}

// The answer for each statement the application runs, found once: the second pattern scans the
// whole text, on every read of the session or a link.
const READS_ONLY = new Map<string, boolean>();
const MAX_REMEMBERED = 500;

/** A statement that only reads: it needs no transaction on its own, and changes no row in one. */
export function onlyReads(sql: string): boolean {
  let known = READS_ONLY.get(sql);
  if (known === undefined) {
    known = /^\s*(select|with)\b/i.test(sql) && !/\breturning\b/i.test(sql);
    if (READS_ONLY.size >= MAX_REMEMBERED) READS_ONLY.clear();
    READS_ONLY.set(sql, known);
  }
  return known;
}

export function keepStatements(db: SqlJsDb): Statements {
  return { db, kept: new Map(), columns: new Map(), totalChanges: db.prepare('SELECT total_changes()') };
}

/**
 * Compiling a statement cost about as much as running it: the application's few statements are
 * compiled once and kept (reset after each use, so no read stays open).
 */
function compiled(statements: Statements, sql: string): { stmt: SqlJsStatement; kept: boolean } {
  const cached = statements.kept.get(sql);
  if (cached) return { stmt: cached, kept: true };
  const stmt = statements.db.prepare(opaqueParameters(sql));
  const kept = statements.kept.size < MAX_CACHED_STATEMENTS;
  if (kept) statements.kept.set(sql, stmt);
  return { stmt, kept };
}

/**
 * Every bound parameter `?` / `?N` as `+?` / `+?N`, outside quotes and comments. A unary plus
 * changes no value and no plan, but it hides the parameter from SQLite's planner. When the planner
 * looks at a parameter while choosing a plan (it may, for a join or a partial index), it marks the
 * statement as depending on the value bound there, and a statement so marked is compiled again
 * after every sqlite3_clear_bindings(), which sql.js's reset() calls after every run. 10 of the 74
 * statements that bench/recompiled-statements.ts has the flows run were so marked (the activation
 * and reset link reads, the login's back-off charge and a session's authenticator read among
 * them), each run paying for a compile: 3 to 20 times the run itself.
 * tests/node-only/sqljs-opaque-parameters.test.ts holds every statement's plan to what it is with
 * its values bound plainly.
 */
export function opaqueParameters(sql: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === '`' || c === '[') {
      const close = c === '[' ? ']' : c;
      const end = sql.indexOf(close, i + 1);
      i = end < 0 ? sql.length : end; // a doubled quote inside is two quoted runs back to back: the same
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end;
    } else if (c === '/' && sql[i + 1] === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 1;
    } else if (c === '?') {
      out += `${sql.slice(from, i)}+`;
      from = i;
    }
  }
  return out + sql.slice(from);
}

export function execute(statements: Statements, sql: string, params: SqlValue[], countChanges = true): Executed {
  const before = countChanges ? changesSoFar(statements) : 0;
  const { stmt, kept } = compiled(statements, sql);
  try {
    stmt.bind(params);
    const rows: Row[] = [];
    let names: string[] | undefined;
    while (stmt.step()) {
      const values = stmt.get();
      names ??= columnNames(statements, stmt, kept, values.length);
      const row: Row = {};
      for (let i = 0; i < names.length; i++) row[names[i]!] = values[i];
      rows.push(row);
    }
    return { rows, changes: countChanges ? changesSoFar(statements) - before : 0 };
  } finally {
    if (kept) stmt.reset();
    else stmt.free();
  }
}

/**
 * sql.js's getAsObject() asks SQLite for every column's name on every row, copying each out of
 * WebAssembly memory: for the 14 columns of the session read that was most of the read's time
 * (bench/micro.ts). A kept statement's names are asked once; the count of values guards against
 * a statement that SQLite recompiled with other columns (a `SELECT *` after a schema change).
 */
function columnNames(statements: Statements, stmt: SqlJsStatement, kept: boolean, count: number): string[] {
  const known = statements.columns.get(stmt);
  if (known !== undefined && known.length === count) return known;
  const names = stmt.getColumnNames();
  if (kept) statements.columns.set(stmt, names);
  return names;
}

function changesSoFar({ totalChanges }: Statements): number {
  totalChanges.step();
  const n = Number(totalChanges.get()[0]);
  totalChanges.reset();
  return n;
}

export function freeStatements(statements: Statements): void {
  statements.totalChanges.free();
  for (const stmt of statements.kept.values()) stmt.free();
  statements.kept.clear();
  statements.columns.clear();
}

export function rollbackQuietly(db: SqlJsDb): void {
  try {
    db.run('ROLLBACK');
  } catch {
    // No transaction open any more: nothing to undo.
  }
}
