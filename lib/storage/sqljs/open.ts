/**
 * Opening and closing a sql.js database for the Node server and tests: the lock on its file, the
 * snapshot loaded and the journal replayed (journal.ts), migrations applied, and the Database
 * interface (adapter.ts) handed out; closing snapshots and lets the file go.
 */
import * as nodeFs from 'node:fs';
import initSqlJs, { type Database as SqlJsDb, type SqlJsStatic } from 'sql.js';
import type { Database } from '../db.ts';
import { databaseOver, type Engine } from './adapter.ts';
import { commitWaiting, syncSoftWrites } from './group-commit.ts';
import { DatabaseFileError, journalPathOf, lockPathOf, sizeOf, snapshotTempPathOf, unlinkQuietly } from './files.ts';
import { closeJournal, journalOf, realIo, replayJournal, storedSeq, type WriteIo } from './journal.ts';
import { acquireLock, type Lock } from './lock.ts';
import { applyMigrations } from './migrations.ts';
import { loadSnapshot, snapshotsOf, writeSnapshot } from './snapshot.ts';
import { freeStatements, keepStatements } from './statements.ts';

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
  /** Told when the deferred flush of soft writes failed; a snapshot is then taken in its place. */
  onSyncFailed?: (error: unknown) => void;
  /** How long soft writes (db.ts) may wait for an fsync; default 1000 ms. */
  softSyncMs?: number;
  /** Fault injection for tests. */
  io?: Partial<WriteIo>;
}

export interface SqlJsDatabase extends Database {
  /** Writes a snapshot now and empties the journal. */
  snapshot(): void;
  /** Snapshot, close, release the lock. */
  close(): void;
}

// A machine crash may cost the per-client counters this much of their history (db.ts soft writes).
const SOFT_SYNC_MS = 1000;

let sqlJs: Promise<SqlJsStatic> | undefined;
const loadSqlJs = () => (sqlJs ??= initSqlJs());

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
    return start(db, options, lock);
  } catch (error) {
    lock?.release();
    throw error;
  }
}

function start(db: SqlJsDb, options: SqlJsOptions, lock: Lock | undefined): SqlJsDatabase {
  const { path } = options;
  const journal = path ? journalOf(path, { ...realIo, ...options.io }) : undefined;
  const snapshots = journal ? snapshotsOf(journal, options.minSnapshotBytes) : undefined;
  const engine: Engine = {
    db,
    statements: keepStatements(db),
    journal,
    snapshots,
    onSnapshotFailed: options.onSnapshotFailed,
    onSyncFailed: options.onSyncFailed,
    softSyncMs: options.softSyncMs ?? SOFT_SYNC_MS,
    syncTimer: undefined,
    seq: 0,
    waiting: [],
  };
  // SQLite leaves foreign keys off; D1 enforces them. Match D1.
  db.run('PRAGMA foreign_keys = ON');
  // The database lives in sql.js's in-memory file system and has one connection: holding the
  // lock spares every statement a look for other writers and a hot journal, and the rollback
  // journal can stay in memory (crash safety comes from our own journal on disk: journal.ts).
  db.run('PRAGMA locking_mode = EXCLUSIVE');
  db.run('PRAGMA journal_mode = MEMORY');
  engine.seq = storedSeq(db);
  if (path && journal) {
    // A snapshot cut short by a crash: never renamed over the database, so it holds nothing needed.
    unlinkQuietly(snapshotTempPathOf(path));
    engine.seq = replayJournal(journal, engine.statements, engine.seq);
  }
  const migrated = applyMigrations(db, options.migrations, path ?? 'the in-memory database');
  if (path && snapshots) {
    if (migrated || !nodeFs.existsSync(path)) writeSnapshot(db, snapshots);
    else snapshots.bytes = sizeOf(path);
  }
  return {
    ...databaseOver(engine),
    snapshot: () => {
      commitWaiting(engine);
      if (snapshots) writeSnapshot(db, snapshots);
    },
    close: () => close(engine, lock),
  };
}

function close(engine: Engine, lock: Lock | undefined): void {
  const { journal, snapshots } = engine;
  try {
    // Writes still waiting for their group commit are owed their answer: commit them first.
    commitWaiting(engine);
    syncSoftWrites(engine);
    if (journal && snapshots && (journal.bytes > 0 || journal.tailUnknown)) writeSnapshot(engine.db, snapshots);
  } finally {
    freeStatements(engine.statements);
    engine.db.close();
    if (journal) closeJournal(journal);
    lock?.release();
  }
}
