/**
 * Snapshots: the whole in-memory database written to its file, so that the journal (journal.ts)
 * can be emptied, and read back at start. A snapshot replaces the file only whole: temp file,
 * fsync, rename, directory fsync; a crash at any step leaves the old file and the journal.
 */
import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import type { Database as SqlJsDb, SqlJsStatic } from 'sql.js';
import { DatabaseFileError, damagedAdvice, openPrivate, snapshotTempPathOf, syncDirectory, unlinkQuietly } from './files.ts';
import { cutBack, emptyJournal, writeAll, type Journal } from './journal.ts';

export interface Snapshots {
  readonly journal: Journal;
  /** Journal size that makes a snapshot due, at least. */
  readonly minBytes: number;
  /** Size of the last snapshot written or loaded. */
  bytes: number;
}

export function snapshotsOf(journal: Journal, minBytes = 4 * 1024 * 1024): Snapshots {
  return { journal, minBytes, bytes: 0 };
}

/** The database file, checked; a damaged one is refused, never replaced. */
export function loadSnapshot(SQL: SqlJsStatic, path: string): SqlJsDb {
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

/**
 * Once the journal is about as big as the snapshot, replaying it costs about as much as reading
 * the snapshot: time to write a new one.
 */
export function snapshotDue({ journal, minBytes, bytes }: Snapshots): boolean {
  return journal.bytes >= Math.max(minBytes, bytes);
}

/** Writes the database to its file, then empties the journal. */
export function writeSnapshot(db: SqlJsDb, snapshots: Snapshots): void {
  const { journal } = snapshots;
  const { databasePath: path, io } = journal;
  if (journal.tailUnknown) cutBack(journal);
  const bytes = db.export();
  // sql.js versions before 1.9 reopened the connection in export(), dropping pragmas: be sure.
  db.run('PRAGMA foreign_keys = ON');
  const temp = snapshotTempPathOf(path);
  const fd = openPrivate(temp, 'w');
  try {
    try {
      writeAll(io, fd, bytes);
      io.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
    io.renameSync(temp, path);
  } catch (error) {
    unlinkQuietly(temp);
    throw error;
  }
  syncDirectory(dirname(path));
  snapshots.bytes = bytes.length;
  // The snapshot holds every journalled write (its seq says so); only now may the journal go.
  // A crash before the truncation leaves entries that replay skips by their seq.
  emptyJournal(journal);
}
