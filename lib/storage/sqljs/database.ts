/**
 * The Database interface on sql.js (SQLite compiled to WebAssembly), for the Node server and tests.
 *
 * sql.js keeps the whole database in memory, and writing the whole file on every write costs time
 * in proportion to the database. Durability comes instead from a journal: each committed write unit
 * (one run() or one batch()) is appended to `<file>.latchkey-journal` as one JSON line holding its
 * sequence number, statements and bound values, and fsynced before the call returns. Once the
 * journal has grown to about the size of the snapshot, a new snapshot is written (temp file, fsync,
 * rename, directory fsync) and only then the journal emptied. At start the snapshot is loaded and
 * the journal replayed past the snapshot's sequence number. Statements bind every time and id from
 * the application, so replay reproduces the same rows. docs/reliability.md lists every crash window
 * and the test that covers it. The lock that keeps a second server off the file is lib/storage/sqljs/lock.ts;
 * the files' names and modes are lib/storage/sqljs/files.ts.
 */
import * as nodeFs from 'node:fs';
import { dirname, join } from 'node:path';
import initSqlJs, { type Database as SqlJsDb, type SqlJsStatic, type Statement as SqlJsStatement } from 'sql.js';
import type { Database, RunResult, SqlValue, Statement } from '../db.ts';
import {
  DatabaseFileError,
  journalPathOf,
  lockPathOf,
  openPrivate,
  sizeOf,
  snapshotTempPathOf,
  syncDirectory,
  unlinkQuietly,
} from './files.ts';
import { acquireLock, type Lock } from './lock.ts';

export { DatabaseFileError, journalPathOf, lockPathOf, snapshotTempPathOf } from './files.ts';
export { DatabaseInUseError } from './lock.ts';

/** The file operations that can fail under a write; tests replace them to inject faults. */
export interface WriteIo {
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  renameSync(from: string, to: string): void;
}

const realIo: WriteIo = {
  writeSync: (fd, buffer, offset, length) => nodeFs.writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  ftruncateSync: (fd, length) => nodeFs.ftruncateSync(fd, length),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
};

export interface SqlJsOptions {
  /** Database file; omit for a database that lives only in memory (tests). */
  path?: string;
  /** Migrations as [name, sql], applied in order, each once. */
  migrations: Array<[string, string]>;
  /** Journal size that triggers a snapshot, at least; default 4 MiB. */
  minSnapshotBytes?: number;
  /**
   * Told when a snapshot taken after a write failed. The write itself stands (the journal holds
   * it); the snapshot is tried again after the next write.
   */
  onSnapshotFailed?: (error: unknown) => void;
  /** Fault injection for tests. */
  io?: Partial<WriteIo>;
}

export interface SqlJsDatabase extends Database {
  /** Writes a snapshot now and empties the journal. */
  snapshot(): void;
  /** Snapshot, close, release the lock. */
  close(): void;
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
  return nodeFs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => [name, nodeFs.readFileSync(join(dir, name), 'utf8')]);
}

export async function openSqlJsDatabase(options: SqlJsOptions): Promise<SqlJsDatabase> {
  const SQL = await loadSqlJs();
  const { path } = options;
  const lock = path ? acquireLock(lockPathOf(path), path) : undefined;
  try {
    let db: SqlJsDb;
    if (path && nodeFs.existsSync(path)) {
      db = loadSnapshot(SQL, path);
    } else {
      // A journal without its snapshot holds only the writes after some snapshot that is gone:
      // replaying it onto an empty database would make up a state that never existed.
      if (path && sizeOf(journalPathOf(path)) > 0) {
        throw new DatabaseFileError(
          `Database file ${path} is missing but its journal ${journalPathOf(path)} is not. Latchkey will not ` +
            `start an empty database beside it. Restore ${path} from a backup, or move the journal away to start empty.`,
        );
      }
      db = new SQL.Database();
    }
    return new Engine(db, options, lock).start();
  } catch (error) {
    lock?.release();
    throw error;
  }
}

function damagedAdvice(path: string): string {
  return (
    `Latchkey will not replace it with an empty one. Restore ${path} and ${journalPathOf(path)} from a backup, ` +
    `or move both away to start with an empty database.`
  );
}

function loadSnapshot(SQL: SqlJsStatic, path: string): SqlJsDb {
  const bytes = nodeFs.readFileSync(path);
  const damaged = (why: string) => new DatabaseFileError(`Database file ${path} is damaged (${why}). ${damagedAdvice(path)}`);
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
  /** Bytes of whole, acknowledged entries in the journal: where the next entry starts. */
  private journalBytes = 0;
  /** A failed append may have left a partial line past journalBytes that could not be cut off yet. */
  private journalTailUnknown = false;
  private snapshotBytes = 0;
  private readonly totalChanges;
  private readonly statements = new Map<string, SqlJsStatement>();
  private readonly db: SqlJsDb;
  private readonly options: SqlJsOptions;
  private readonly lock: Lock | undefined;
  private readonly io: WriteIo;

  constructor(db: SqlJsDb, options: SqlJsOptions, lock: Lock | undefined) {
    this.db = db;
    this.options = options;
    this.lock = lock;
    this.io = { ...realIo, ...options.io };
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
    const path = this.options.path;
    if (path) {
      // A snapshot cut short by a crash: never renamed over the database, so it holds nothing needed.
      unlinkQuietly(snapshotTempPathOf(path));
      this.replayJournal(journalPathOf(path));
    }
    const migrated = this.applyMigrations();
    if (path) {
      if (migrated || !nodeFs.existsSync(path)) this.snapshot();
      else this.snapshotBytes = sizeOf(path);
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

  /**
   * Runs the ops atomically. If they changed anything, their journal entry is on disk (fsynced)
   * before COMMIT, and COMMIT happens only if it is: memory never runs ahead of the file, and
   * a write that fails leaves neither a row in memory nor a line in the journal.
   */
  private transaction(ops: Array<[string, SqlValue[]]>, done: (results: ReturnType<Engine['execute']>[]) => void): void {
    this.db.run('BEGIN IMMEDIATE');
    let journalled = false;
    const journalBefore = this.journalBytes;
    try {
      const results = ops.map(([sql, params]) => this.execute(sql, params));
      if (results.some((r) => r.changes > 0)) {
        const seq = this.seq + 1;
        this.db.run(`UPDATE ${STATE_TABLE} SET seq = ? WHERE id = 1`, [seq]);
        this.appendJournal({ seq, ops });
        journalled = true;
        this.db.run('COMMIT');
        journalled = false; // committed: the line stays
        this.seq = seq;
      } else {
        this.db.run('COMMIT');
      }
      done(results);
    } catch (error) {
      this.rollbackQuietly();
      // The entry is in the journal but its transaction did not commit (a deferred constraint, say):
      // take it back out, or a restart would replay a write whose caller was told it failed.
      if (journalled) {
        this.journalBytes = journalBefore;
        try {
          this.cutJournalBack();
        } catch {
          // journalTailUnknown stays set: the next write, snapshot or close cuts it first.
        }
      }
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
    const path = this.options.path;
    if (!path) return;
    this.journalFd ??= openPrivate(journalPathOf(path), 'a');
    // Cut off what an earlier failed append left, or refuse: appending after a partial line would
    // make the journal unreadable from that line on.
    if (this.journalTailUnknown) this.cutJournalBack();
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    const previous = this.journalBytes;
    try {
      writeAll(this.io, this.journalFd, line);
      this.io.fsyncSync(this.journalFd);
      this.journalBytes = previous + line.length;
    } catch (error) {
      this.journalBytes = previous;
      this.journalTailUnknown = true;
      try {
        this.cutJournalBack();
      } catch {
        // journalTailUnknown stays set: the next write tries again before appending.
      }
      throw error;
    }
  }

  /** Truncates the journal to its acknowledged entries. */
  private cutJournalBack(): void {
    if (this.journalFd === undefined) return;
    this.journalTailUnknown = true;
    this.io.ftruncateSync(this.journalFd, this.journalBytes);
    this.io.fsyncSync(this.journalFd);
    this.journalTailUnknown = false;
  }

  private replayJournal(journalPath: string): void {
    if (!nodeFs.existsSync(journalPath)) return;
    const path = this.options.path!;
    const bytes = nodeFs.readFileSync(journalPath);
    // A last line without its newline was never acknowledged: its append was cut short by a crash
    // (the newline is the last byte written, and the fsync after it is what acknowledges).
    const end = bytes.lastIndexOf(0x0a) + 1;
    const lines = bytes.subarray(0, end).toString('utf8').split('\n').slice(0, -1);
    const refuse = (index: number, why: string) =>
      new DatabaseFileError(`Journal ${journalPath} line ${index + 1} ${why}. ${damagedAdvice(path)}`);
    lines.forEach((line, index) => {
      const entry = parseEntry(line);
      if (!entry) throw refuse(index, 'is damaged; Latchkey will not guess what it held');
      if (entry.seq <= this.seq) return; // already in the snapshot (a crash came before the journal was emptied)
      if (entry.seq !== this.seq + 1) {
        throw refuse(index, `holds write ${entry.seq}, but ${path} ends at write ${this.seq}: the database file is older than its journal`);
      }
      this.db.run('BEGIN IMMEDIATE');
      try {
        for (const [sql, params] of entry.ops) this.execute(sql, params);
        this.db.run(`UPDATE ${STATE_TABLE} SET seq = ? WHERE id = 1`, [entry.seq]);
        this.db.run('COMMIT');
        this.seq = entry.seq;
      } catch (error) {
        this.rollbackQuietly();
        throw refuse(index, `does not apply to ${path} (${error instanceof Error ? error.message : String(error)})`);
      }
    });
    if (end !== bytes.length) {
      const fd = nodeFs.openSync(journalPath, 'r+');
      try {
        this.io.ftruncateSync(fd, end);
        this.io.fsyncSync(fd);
      } finally {
        nodeFs.closeSync(fd);
      }
    }
    this.journalBytes = end;
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
    if (!this.options.path || this.journalBytes < threshold) return;
    try {
      this.snapshot();
    } catch (error) {
      // The write that got us here is durable in the journal already: failing it now would tell
      // its caller "nothing changed" about a change that a restart brings back.
      this.options.onSnapshotFailed?.(error);
    }
  }

  snapshot(): void {
    const path = this.options.path;
    if (!path) return;
    if (this.journalTailUnknown) this.cutJournalBack();
    const bytes = this.db.export();
    // sql.js versions before 1.9 reopened the connection in export(), dropping pragmas: be sure.
    this.db.run('PRAGMA foreign_keys = ON');
    const temp = snapshotTempPathOf(path);
    const fd = openPrivate(temp, 'w');
    try {
      try {
        writeAll(this.io, fd, bytes);
        this.io.fsyncSync(fd);
      } finally {
        nodeFs.closeSync(fd);
      }
      this.io.renameSync(temp, path);
    } catch (error) {
      unlinkQuietly(temp);
      throw error;
    }
    syncDirectory(dirname(path));
    this.snapshotBytes = bytes.length;
    // The snapshot holds every journalled write (its seq says so); only now may the journal go.
    // A crash before the truncation leaves entries that replay skips by their seq.
    this.journalFd ??= openPrivate(journalPathOf(path), 'a');
    this.journalTailUnknown = true;
    this.io.ftruncateSync(this.journalFd, 0);
    this.io.fsyncSync(this.journalFd);
    this.journalBytes = 0;
    this.journalTailUnknown = false;
  }

  close(): void {
    try {
      if (this.options.path && (this.journalBytes > 0 || this.journalTailUnknown)) this.snapshot();
    } finally {
      this.totalChanges.free();
      for (const stmt of this.statements.values()) stmt.free();
      this.statements.clear();
      this.db.close();
      if (this.journalFd !== undefined) nodeFs.closeSync(this.journalFd);
      this.lock?.release();
    }
  }
}

function parseEntry(line: string): JournalEntry | null {
  try {
    const entry = JSON.parse(line) as JournalEntry;
    const ok = Number.isSafeInteger(entry?.seq) && Array.isArray(entry.ops) && entry.ops.every((op) => typeof op?.[0] === 'string' && Array.isArray(op[1]));
    return ok ? entry : null;
  } catch {
    return null;
  }
}

/** writeSync may write less than asked (a full disk, say); loop until all is written or it throws. */
function writeAll(io: WriteIo, fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    const n = io.writeSync(fd, bytes, offset, bytes.length - offset);
    if (n <= 0) throw new Error(`write made no progress at byte ${offset} of ${bytes.length}`);
    offset += n;
  }
}
