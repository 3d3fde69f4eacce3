/**
 * Group commit: the write units that arrive together share one journal write and one fsync.
 *
 * An fsync costs about 0.4 ms on this project's disk (far more on a busy one) and blocks the one
 * thread; the cheap requests each write a throttle counter, so one fsync per write unit made the
 * fsync most of their cost (docs/performance.md). Instead, a write unit is queued, and the queue is
 * run once the event loop has taken in the requests that are ready (setImmediate): one
 * transaction, each unit in a savepoint of its own, their journal lines appended with one write and
 * one fsync, then COMMIT, and only then is any caller answered. So nothing changes for a caller:
 * its write is on disk when its call returns, a unit that fails leaves nothing (its savepoint is
 * rolled back, it gets no line), and memory never runs ahead of the file (until COMMIT no read
 * sees the group, and reads run outside it). A read that comes while writes wait does not wait for
 * them: none of those writes has been acknowledged, so it may be ordered before them.
 *
 * If the write or the fsync fails, every unit of the group fails, as each would have alone. If
 * COMMIT fails (a deferred constraint of one unit), the units are run again one at a time, so only
 * the unit at fault fails.
 *
 * A group of soft units only (db.ts: the per-client counters) skips its fsync: its lines are in
 * the kernel's cache when the callers are answered, which a process crash cannot undo, and the
 * next group's fsync, or one at most `softSyncMs` later, takes them to the disk. The cheap
 * requests then pay no fsync at all (docs/performance.md).
 */
import type { SqlValue } from '../db.ts';
import type { Engine, Unit } from './engine.ts';
import { appendEntries, cutBack, storeSeq, syncJournal, type JournalEntry } from './journal.ts';
import { snapshotDue, writeSnapshot } from './snapshot.ts';
import { execute, onlyReads, rollbackQuietly, type Executed } from './statements.ts';

export type { Unit } from './engine.ts';

/** Runs the ops atomically and durably, with whatever other units are waiting. */
export function commitWrite(engine: Engine, ops: Array<[string, SqlValue[]]>, soft = false): Promise<Executed[]> {
  return new Promise((resolve, reject) => {
    // Without a journal there is no fsync to share: run at once.
    if (!engine.journal) return runGroup(engine, [{ ops, soft, resolve, reject }]);
    engine.waiting.push({ ops, soft, resolve, reject });
    if (engine.waiting.length === 1) setImmediate(() => commitWaiting(engine));
  });
}

/** Commits the waiting units now (before a snapshot or close, say); a no-op if none wait. */
export function commitWaiting(engine: Engine): void {
  const units = engine.waiting.splice(0);
  if (units.length > 0) runGroup(engine, units);
}

// The statements every group runs, compiled once like the application's (statements.ts): compiling
// them anew for every group and unit cost as much as the counter's upsert itself.
const control = (engine: Engine, sql: 'BEGIN IMMEDIATE' | 'SAVEPOINT unit' | 'RELEASE unit' | 'COMMIT') => execute(engine.statements, sql, [], false);

function runGroup(engine: Engine, units: Unit[]): void {
  const { db, journal } = engine;
  const outcomes: Array<{ results: Executed[] } | { error: unknown }> = [];
  const entries: JournalEntry[] = [];
  const journalBefore = journal?.bytes ?? 0;
  let seq = engine.seq;
  let committing = false;
  let sync = false;
  try {
    control(engine, 'BEGIN IMMEDIATE');
    for (const unit of units) {
      control(engine, 'SAVEPOINT unit');
      try {
        // A read changes no row: it is spared the two counts of SQLite's changes around it.
        const results = unit.ops.map(([sql, params]) => execute(engine.statements, sql, params, !onlyReads(sql)));
        control(engine, 'RELEASE unit');
        if (results.some((r) => r.changes > 0)) {
          // Only the statements that changed a row: replayed in order on the same state, a read or a
          // write whose guard held nothing back changes nothing again. A flow's batch reads beside
          // its writes (the window's state, a link by its digest), and those reads' SQL was most of
          // the line that each cheap request wrote (docs/performance.md, "The cheap paths").
          entries.push({ seq: ++seq, ops: unit.ops.filter((_, i) => results[i]!.changes > 0) });
          sync ||= !unit.soft;
        }
        outcomes.push({ results });
      } catch (error) {
        // If this throws, the transaction itself is gone: the whole group fails, below.
        db.run('ROLLBACK TO unit');
        db.run('RELEASE unit');
        outcomes.push({ error });
      }
    }
    if (entries.length > 0) {
      storeSeq(engine.statements, seq);
      if (journal) appendEntries(journal, entries, sync);
    }
    committing = true;
    control(engine, 'COMMIT');
    engine.seq = seq;
  } catch (error) {
    rollbackQuietly(db);
    // Lines on disk whose transaction did not commit: take them back out, or a restart would
    // replay writes whose callers were told they failed.
    if (journal && journal.bytes !== journalBefore) {
      journal.bytes = journalBefore;
      try {
        cutBack(journal);
      } catch {
        // tailUnknown stays set: the next write, snapshot or close cuts it first.
      }
    }
    if (committing && units.length > 1) {
      for (const unit of units) runGroup(engine, [unit]);
      return;
    }
    for (const unit of units) unit.reject(error);
    return;
  }
  units.forEach((unit, i) => {
    const outcome = outcomes[i]!;
    if ('error' in outcome) unit.reject(outcome.error);
    else unit.resolve(outcome.results);
  });
  if (journal?.unsynced) syncSoon(engine);
  snapshotIfDue(engine);
}

/** Flushes the soft writes' lines within softSyncMs, unless a durable group's fsync does first. */
function syncSoon(engine: Engine): void {
  if (engine.syncTimer) return;
  engine.syncTimer = setTimeout(() => syncSoftWrites(engine), engine.softSyncMs);
  // A process that exits keeps what it wrote in the kernel's cache: no reason to stay for this.
  engine.syncTimer.unref?.();
}

/**
 * The deferred flush. If it fails, the soft writes may not be on the disk and the journal cannot
 * be trusted to hold them: a snapshot of the whole database (which has them) takes their place.
 */
export function syncSoftWrites(engine: Engine): void {
  clearTimeout(engine.syncTimer);
  engine.syncTimer = undefined;
  if (!engine.journal) return;
  try {
    syncJournal(engine.journal);
  } catch (error) {
    engine.onSyncFailed?.(error);
    if (!engine.snapshots) return;
    try {
      writeSnapshot(engine.db, engine.snapshots);
    } catch (snapshotError) {
      engine.onSnapshotFailed?.(snapshotError);
      syncSoon(engine);
    }
  }
}

function snapshotIfDue(engine: Engine): void {
  const { snapshots } = engine;
  if (!snapshots || !snapshotDue(snapshots)) return;
  try {
    writeSnapshot(engine.db, snapshots);
  } catch (error) {
    // The writes that got us here are durable in the journal already: failing them now would tell
    // their callers "nothing changed" about changes that a restart brings back.
    engine.onSnapshotFailed?.(error);
  }
}
