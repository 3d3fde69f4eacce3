/**
 * The Database interface on sql.js (SQLite compiled to WebAssembly), for the Node server and tests.
 *
 * sql.js keeps the whole database in memory, and writing the whole file on every write costs time
 * in proportion to the database. Durability comes instead from a journal: each committed write unit
 * (one run() or one batch()) is appended to `<file>.latchkey-journal` as one JSON line holding its
 * statements and bound values, and fsynced before the call returns. Once the journal has grown to
 * about the size of the snapshot, a new snapshot is written (temp file, fsync, rename) and the
 * journal emptied. At start the snapshot is loaded and the journal replayed past the snapshot's
 * sequence number. Statements bind every time and id from the application, so replay reproduces
 * the same rows.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, readdirSync, readFileSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import initSqlJs, { type Database as SqlJsDb, type SqlJsStatic, type Statement as SqlJsStatement } from 'sql.js';
import type { Database, RunResult, SqlValue, Statement } from './db.ts';

export interface SqlJsOptions {
  /** Database file; omit for a database that lives only in memory (tests). */
  path?: string;
  /** Migrations as [name, sql], applied in order, each once. */
  migrations: Array<[string, string]>;
  /** Journal size that triggers a snapshot, at least; default 4 MiB. */
  minSnapshotBytes?: number;
}

export interface SqlJsDatabase extends Database {
  /** Writes a snapshot now and empties the journal. */
  snapshot(): void;
  /** Snapshot, close, release the lock. */
  close(): void;
}

/** The database file cannot be used as it is; the message says which file and what to do. */
export class DatabaseFileError extends Error {
  override name = 'DatabaseFileError';
}

let sqlJs: Promise<SqlJsStatic> | undefined;
const loadSqlJs = () => (sqlJs ??= initSqlJs());

const STATE_TABLE = 'latchkey_journal_state';
/** The application uses a few dozen statements; anything past this is compiled per use. */
const MAX_CACHED_STATEMENTS = 200;

interface BoundStatement extends Statement {
  readonly sql: string;
  readonly params: SqlValue[];
}

type JournalEntry = { seq: number; ops: Array<[string, SqlValue[]]> };

/** The migrations in a folder, as [file name, SQL], in file-name order (D1's convention). */
export function readMigrations(dir: string): Array<[string, string]> {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => [name, readFileSync(join(dir, name), 'utf8')]);
}

export async function openSqlJsDatabase(options: SqlJsOptions): Promise<SqlJsDatabase> {
  const SQL = await loadSqlJs();
  const { path } = options;
  const lock = path ? acquireLock(`${path}.lock`, path) : undefined;
  try {
    const db = path && existsSync(path) ? loadSnapshot(SQL, path) : new SQL.Database();
    return new Engine(db, options, lock).start();
  } catch (error) {
    lock?.release();
    throw error;
  }
}

function loadSnapshot(SQL: SqlJsStatic, path: string): SqlJsDb {
  const bytes = readFileSync(path);
  const damaged = (why: string) =>
    new DatabaseFileError(
      `Database file ${path} is damaged (${why}). Latchkey will not replace it with an empty one. ` +
        `Restore it from a backup, or move it away to start with an empty database.`,
    );
  if (bytes.length === 0) throw damaged('it is empty');
  let db: SqlJsDb | undefined;
  try {
    db = new SQL.Database(bytes);
    const check = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
    if (check !== 'ok') throw new Error(String(check));
    return db;
  } catch (error) {
    db?.close();
    throw damaged(error instanceof Error ? error.message : String(error));
  }
}

class Engine {
  private seq = 0;
  private journalFd: number | undefined;
  private journalBytes = 0;
  private snapshotBytes = 0;
  private readonly totalChanges;
  private readonly statements = new Map<string, SqlJsStatement>();
  private readonly db: SqlJsDb;
  private readonly options: SqlJsOptions;
  private readonly lock: Lock | undefined;

  constructor(db: SqlJsDb, options: SqlJsOptions, lock: Lock | undefined) {
    this.db = db;
    this.options = options;
    this.lock = lock;
    this.totalChanges = db.prepare('SELECT total_changes()');
  }

  start(): SqlJsDatabase {
    // SQLite leaves foreign keys off; D1 enforces them. Match D1.
    this.db.run('PRAGMA foreign_keys = ON');
    // The database lives in sql.js's in-memory file system and has one connection: holding the
    // lock spares every statement a look for other writers and a hot journal, and the rollback
    // journal can stay in memory (crash safety comes from our own journal on disk, below).
    this.db.run('PRAGMA locking_mode = EXCLUSIVE');
    this.db.run('PRAGMA journal_mode = MEMORY');
    this.db.run(`CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL) STRICT`);
    this.db.run(`INSERT OR IGNORE INTO ${STATE_TABLE} (id, seq) VALUES (1, 0)`);
    this.seq = Number(this.db.exec(`SELECT seq FROM ${STATE_TABLE}`)[0]!.values[0]![0]);
    if (this.options.path) this.replayJournal(`${this.options.path}.latchkey-journal`);
    const migrated = this.applyMigrations();
    if (this.options.path) {
      if (migrated) this.snapshot();
      else this.snapshotBytes = fstatSizeOf(this.options.path);
    }
    return {
      prepare: (sql) => this.statement(sql, []),
      batch: async (statements) => this.write(statements as BoundStatement[]),
      snapshot: () => this.snapshot(),
      close: () => this.close(),
    };
  }

  private statement(sql: string, params: SqlValue[]): BoundStatement {
    return {
      sql,
      params,
      bind: (...values) => this.statement(sql, values),
      first: async <T>() => (this.read(sql, params)[0] as T | undefined) ?? null,
      all: async <T>() => ({ results: this.read(sql, params) as T[] }),
      run: async () => this.write([this.statement(sql, params)])[0]!,
    };
  }

  /**
   * Compiling a statement cost about as much as running it: the application's few statements are
   * compiled once and kept (reset after each use, so no read stays open).
   */
  private compiled(sql: string): { stmt: SqlJsStatement; kept: boolean } {
    const cached = this.statements.get(sql);
    if (cached) return { stmt: cached, kept: true };
    const stmt = this.db.prepare(sql);
    const kept = this.statements.size < MAX_CACHED_STATEMENTS;
    if (kept) this.statements.set(sql, stmt);
    return { stmt, kept };
  }

  private execute(sql: string, params: SqlValue[], countChanges = true): { rows: Record<string, unknown>[]; changes: number } {
    const before = countChanges ? this.changesSoFar() : 0;
    const { stmt, kept } = this.compiled(sql);
    try {
      stmt.bind(params);
      const rows: Record<string, unknown>[] = [];
      while (stmt.step()) rows.push(stmt.getAsObject());
      return { rows, changes: countChanges ? this.changesSoFar() - before : 0 };
    } finally {
      if (kept) stmt.reset();
      else stmt.free();
    }
  }

  private changesSoFar(): number {
    this.totalChanges.step();
    const n = Number(this.totalChanges.get()[0]);
    this.totalChanges.reset();
    return n;
  }

  /** A statement that may write (a SELECT … RETURNING, say) still goes through write(). */
  private read(sql: string, params: SqlValue[]): Record<string, unknown>[] {
    if (/^\s*(select|with)\b/i.test(sql) && !/\breturning\b/i.test(sql)) return this.execute(sql, params, false).rows;
    return this.writeRows(sql, params);
  }

  private writeRows(sql: string, params: SqlValue[]): Record<string, unknown>[] {
    let rows: Record<string, unknown>[] = [];
    this.transaction([[sql, params]], (results) => (rows = results[0]!.rows));
    return rows;
  }

  private write(statements: BoundStatement[]): RunResult[] {
    let out: RunResult[] = [];
    this.transaction(
      statements.map((s) => [s.sql, s.params]),
      (results) => (out = results.map((r) => ({ meta: { changes: r.changes } }))),
    );
    return out;
  }

  /** Runs the ops atomically; journals them (durably) before committing if they changed anything. */
  private transaction(ops: Array<[string, SqlValue[]]>, done: (results: ReturnType<Engine['execute']>[]) => void): void {
    this.db.run('BEGIN IMMEDIATE');
    try {
      const results = ops.map(([sql, params]) => this.execute(sql, params));
      if (results.some((r) => r.changes > 0)) {
        const seq = this.seq + 1;
        this.db.run(`UPDATE ${STATE_TABLE} SET seq = ? WHERE id = 1`, [seq]);
        this.appendJournal({ seq, ops });
        this.seq = seq;
      }
      this.db.run('COMMIT');
      done(results);
    } catch (error) {
      this.rollbackQuietly();
      throw error;
    }
    this.maybeSnapshot();
  }

  private rollbackQuietly(): void {
    try {
      this.db.run('ROLLBACK');
    } catch {
      // No transaction open any more: nothing to undo.
    }
  }

  private appendJournal(entry: JournalEntry): void {
    if (!this.options.path) return;
    this.journalFd ??= openSync(`${this.options.path}.latchkey-journal`, 'a');
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    try {
      writeSync(this.journalFd, line);
      fsyncSync(this.journalFd);
      this.journalBytes += line.length;
    } catch (error) {
      // Cut off whatever part of the line reached the file, so later lines stay readable.
      ftruncateSync(this.journalFd, this.journalBytes);
      throw error;
    }
  }

  private replayJournal(journalPath: string): void {
    if (!existsSync(journalPath)) return;
    const text = readFileSync(journalPath, 'utf8');
    const lines = text.split('\n');
    // A last line without its newline was never acknowledged: the write was cut short by a crash.
    // Either way the last piece of the split is not a complete entry: '' or the cut-off line.
    const complete = lines.slice(0, -1);
    complete.forEach((line, index) => {
      let entry: JournalEntry;
      try {
        entry = JSON.parse(line) as JournalEntry;
      } catch {
        throw new DatabaseFileError(
          `Journal ${journalPath} is damaged at line ${index + 1}. Latchkey will not guess what it held. ` +
            `Restore the database and its journal from a backup, or move both away to start empty.`,
        );
      }
      if (entry.seq <= this.seq) return;
      this.db.run('BEGIN IMMEDIATE');
      try {
        for (const [sql, params] of entry.ops) this.execute(sql, params);
        this.db.run(`UPDATE ${STATE_TABLE} SET seq = ? WHERE id = 1`, [entry.seq]);
        this.db.run('COMMIT');
        this.seq = entry.seq;
      } catch (error) {
        this.rollbackQuietly();
        throw new DatabaseFileError(`Journal ${journalPath} line ${index + 1} does not apply to ${this.options.path}: ${String(error)}`);
      }
    });
    const kept = complete.reduce((n, line) => n + Buffer.byteLength(line, 'utf8') + 1, 0);
    if (kept !== Buffer.byteLength(text, 'utf8')) {
      const fd = openSync(journalPath, 'r+');
      ftruncateSync(fd, kept);
      fsyncSync(fd);
      closeSync(fd);
    }
    this.journalBytes = kept;
  }

  private applyMigrations(): boolean {
    this.db.run('CREATE TABLE IF NOT EXISTS latchkey_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
    const applied = new Set(
      (this.db.exec('SELECT name FROM latchkey_migrations')[0]?.values ?? []).map((row) => String(row[0])),
    );
    let any = false;
    for (const [name, sql] of this.options.migrations) {
      if (applied.has(name)) continue;
      this.db.run('BEGIN IMMEDIATE');
      try {
        this.db.exec(sql);
        this.db.run('INSERT INTO latchkey_migrations (name, applied_at) VALUES (?, ?)', [name, Date.now()]);
        this.db.run('COMMIT');
      } catch (error) {
        this.rollbackQuietly();
        throw new DatabaseFileError(`Migration ${name} failed on ${this.options.path ?? 'the in-memory database'}: ${String(error)}`);
      }
      any = true;
    }
    return any;
  }

  private maybeSnapshot(): void {
    const threshold = Math.max(this.options.minSnapshotBytes ?? 4 * 1024 * 1024, this.snapshotBytes);
    if (this.options.path && this.journalBytes >= threshold) this.snapshot();
  }

  snapshot(): void {
    const path = this.options.path;
    if (!path) return;
    const bytes = this.db.export();
    const temp = `${path}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, bytes);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    syncDirectory(dirname(path));
    this.snapshotBytes = bytes.length;
    // The snapshot holds every journalled write (its seq says so); only now may the journal go.
    const journal = `${path}.latchkey-journal`;
    this.journalFd ??= openSync(journal, 'a');
    ftruncateSync(this.journalFd, 0);
    fsyncSync(this.journalFd);
    this.journalBytes = 0;
  }

  close(): void {
    try {
      if (this.options.path && this.journalBytes > 0) this.snapshot();
    } finally {
      this.totalChanges.free();
      for (const stmt of this.statements.values()) stmt.free();
      this.statements.clear();
      this.db.close();
      if (this.journalFd !== undefined) closeSync(this.journalFd);
      this.lock?.release();
    }
  }
}

function fstatSizeOf(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

interface Lock {
  release(): void;
}

/** One writer per file: a second server on the same database refuses to start. */
function acquireLock(lockPath: string, dbPath: string): Lock {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, `${process.pid}\n`);
      fsyncSync(fd);
      closeSync(fd);
      return { release: () => unlinkQuietly(lockPath) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLockHolder(lockPath);
      if (holder !== null && holder !== process.pid && isRunning(holder)) {
        throw new DatabaseFileError(
          `Database ${dbPath} is in use by process ${holder} (lock file ${basename(lockPath)}). ` +
            `Stop that server first; if no server is running, delete ${lockPath}.`,
        );
      }
      unlinkQuietly(lockPath); // left behind by a process that died
    }
  }
  throw new DatabaseFileError(`Could not take the lock ${lockPath} for ${dbPath}.`);
}

function readLockHolder(lockPath: string): number | null {
  try {
    const fd = openSync(lockPath, 'r');
    const buf = Buffer.alloc(32);
    const n = readSync(fd, buf, 0, buf.length, 0);
    closeSync(fd);
    const pid = Number.parseInt(buf.subarray(0, n).toString('utf8'), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
