/**
 * How writes on sql.js survive a crash: the journal.
 *
 * sql.js keeps the whole database in memory, and writing the whole file on every write costs time
 * in proportion to the database. Durability comes instead from a journal: each committed write unit
 * (one run() or one batch()) is appended to `<file>.latchkey-journal` as one JSON line holding its
 * sequence number, statements and bound values, and fsynced before the call returns; the units
 * that arrive together share one write and one fsync (group-commit.ts). Soft writes (the
 * per-client counters, db.ts) are appended the same way but flushed by the next fsync or within
 * a second: in the kernel's cache from the moment they return, so only a machine crash can lose
 * them, and only as the journal's last lines (an fsync covers every line before it). Once the
 * journal has grown to about the size of the snapshot, a new snapshot is written (temp file, fsync,
 * rename, directory fsync: snapshot.ts) and only then the journal emptied. At start the snapshot is
 * loaded and the journal replayed past the snapshot's sequence number, which the database itself
 * holds (the state table below), so a snapshot and its journal can never be told apart wrongly.
 * Statements bind every time and id from the application, so replay reproduces the same rows.
 * docs/reliability.md lists every crash window and the test that covers it. The lock that keeps a
 * second server off the file is lock.ts; the files' names and modes are files.ts.
 */
import * as nodeFs from 'node:fs';
import type { Database as SqlJsDb } from 'sql.js';
import type { SqlValue } from '../db.ts';
import { DatabaseFileError, damagedAdvice, journalPathOf, openPrivate } from './files.ts';
import { execute, rollbackQuietly, type Statements } from './statements.ts';

/** The file operations that can fail under a write; tests replace them to inject faults. */
export interface WriteIo {
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  renameSync(from: string, to: string): void;
}

export const realIo: WriteIo = {
  writeSync: (fd, buffer, offset, length) => nodeFs.writeSync(fd, buffer, offset, length),
  fsyncSync: (fd) => nodeFs.fsyncSync(fd),
  ftruncateSync: (fd, length) => nodeFs.ftruncateSync(fd, length),
  renameSync: (from, to) => nodeFs.renameSync(from, to),
};

export type JournalEntry = { seq: number; ops: Array<[string, SqlValue[]]> };

export interface Journal {
  /** The database file this journal belongs to. */
  readonly databasePath: string;
  readonly path: string;
  readonly io: WriteIo;
  fd: number | undefined;
  /** Bytes of whole, acknowledged entries in the journal: where the next entry starts. */
  bytes: number;
  /** A failed append may have left a partial line past `bytes` that could not be cut off yet. */
  tailUnknown: boolean;
  /** Lines were appended (soft writes) that no fsync has covered yet. */
  unsynced: boolean;
}

export function journalOf(databasePath: string, io: WriteIo): Journal {
  return { databasePath, path: journalPathOf(databasePath), io, fd: undefined, bytes: 0, tailUnknown: false, unsynced: false };
}

const STATE_TABLE = 'latchkey_journal_state';

/** The sequence number of the last write the database holds (creating the record if need be). */
export function storedSeq(db: SqlJsDb): number {
  db.run(`CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL) STRICT`);
  db.run(`INSERT OR IGNORE INTO ${STATE_TABLE} (id, seq) VALUES (1, 0)`);
  return Number(db.exec(`SELECT seq FROM ${STATE_TABLE}`)[0]!.values[0]![0]);
}

/** Records, inside the write's own transaction, that the database now holds write `seq`. */
export function storeSeq(statements: Statements, seq: number): void {
  execute(statements, `UPDATE ${STATE_TABLE} SET seq = ? WHERE id = 1`, [seq], false);
}

function openJournal(journal: Journal): number {
  return (journal.fd ??= openPrivate(journal.path, 'a'));
}

/**
 * Appends entries, one line each, with one write and one fsync for all of them (group commit:
 * group-commit.ts); without the fsync when `sync` is false (soft writes only: syncJournal() comes
 * later). Only when this returns are they acknowledged; if it throws, the journal is left as it
 * was, or marked to be cut back before anything else is appended.
 */
export function appendEntries(journal: Journal, entries: JournalEntry[], sync = true): void {
  const fd = openJournal(journal);
  // Cut off what an earlier failed append left, or refuse: appending after a partial line would
  // make the journal unreadable from that line on.
  if (journal.tailUnknown) cutBack(journal);
  const lines = Buffer.from(entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''), 'utf8');
  const previous = journal.bytes;
  try {
    writeAll(journal.io, fd, lines);
    if (sync) journal.io.fsyncSync(fd);
    journal.bytes = previous + lines.length;
    journal.unsynced = !sync;
  } catch (error) {
    journal.bytes = previous;
    journal.tailUnknown = true;
    try {
      cutBack(journal);
    } catch {
      // tailUnknown stays set: the next write tries again before appending.
    }
    throw error;
  }
}

/** Flushes lines that soft writes appended without an fsync; a no-op when there are none. */
export function syncJournal(journal: Journal): void {
  if (!journal.unsynced || journal.fd === undefined) return;
  journal.io.fsyncSync(journal.fd);
  journal.unsynced = false;
}

/** Truncates the journal to its acknowledged entries. */
export function cutBack(journal: Journal): void {
  if (journal.fd === undefined) return;
  journal.tailUnknown = true;
  journal.io.ftruncateSync(journal.fd, journal.bytes);
  journal.io.fsyncSync(journal.fd);
  journal.tailUnknown = false;
  journal.unsynced = false;
}

/** Empties the journal: only once a snapshot holds every entry in it. */
export function emptyJournal(journal: Journal): void {
  const fd = openJournal(journal);
  journal.tailUnknown = true;
  journal.io.ftruncateSync(fd, 0);
  journal.io.fsyncSync(fd);
  journal.bytes = 0;
  journal.tailUnknown = false;
  journal.unsynced = false;
}

export function closeJournal(journal: Journal): void {
  if (journal.fd !== undefined) nodeFs.closeSync(journal.fd);
  journal.fd = undefined;
}

/** Applies the journal's entries past `seq` to the database; returns the last seq applied. */
export function replayJournal(journal: Journal, statements: Statements, seq: number): number {
  const { path: journalPath, databasePath: path, io } = journal;
  if (!nodeFs.existsSync(journalPath)) return seq;
  const { db } = statements;
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
    if (entry.seq <= seq) return; // already in the snapshot (a crash came before the journal was emptied)
    if (entry.seq !== seq + 1) {
      throw refuse(index, `holds write ${entry.seq}, but ${path} ends at write ${seq}: the database file is older than its journal`);
    }
    db.run('BEGIN IMMEDIATE');
    try {
      for (const [sql, params] of entry.ops) execute(statements, sql, params);
      storeSeq(statements, entry.seq);
      db.run('COMMIT');
      seq = entry.seq;
    } catch (error) {
      rollbackQuietly(db);
      throw refuse(index, `does not apply to ${path} (${error instanceof Error ? error.message : String(error)})`);
    }
  });
  if (end !== bytes.length) {
    const fd = nodeFs.openSync(journalPath, 'r+');
    try {
      io.ftruncateSync(fd, end);
      io.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
  }
  journal.bytes = end;
  return seq;
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
export function writeAll(io: WriteIo, fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) {
    const n = io.writeSync(fd, bytes, offset, bytes.length - offset);
    if (n <= 0) throw new Error(`write made no progress at byte ${offset} of ${bytes.length}`);
    offset += n;
  }
}
