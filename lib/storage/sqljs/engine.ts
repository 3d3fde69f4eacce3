/**
 * The state behind one open sql.js database, and the write units that wait in it: shared by the
 * adapter (adapter.ts), which queues writes, and the group commit (group-commit.ts), which runs
 * them, so that neither has to import the other for its types.
 */
import type { Database as SqlJsDb } from 'sql.js';
import type { SqlValue } from '../db.ts';
import type { Journal } from './journal.ts';
import type { Snapshots } from './snapshot.ts';
import type { Executed, Statements } from './statements.ts';

/** The state behind one open database. */
export interface Engine {
  readonly db: SqlJsDb;
  readonly statements: Statements;
  /** Absent for a database that lives only in memory. */
  readonly journal: Journal | undefined;
  readonly snapshots: Snapshots | undefined;
  readonly onSnapshotFailed: ((error: unknown) => void) | undefined;
  /** Told when the deferred flush of soft writes failed (a snapshot is then taken instead). */
  readonly onSyncFailed: ((error: unknown) => void) | undefined;
  /** How long soft writes may wait for an fsync (group-commit.ts). */
  readonly softSyncMs: number;
  syncTimer: ReturnType<typeof setTimeout> | undefined;
  /** The last write the database holds, as numbered in the journal. */
  seq: number;
  /** Write units waiting for the next group commit. */
  readonly waiting: Unit[];
}

export interface Unit {
  readonly ops: Array<[string, SqlValue[]]>;
  /** Soft state: durable against a process crash at once, against a machine crash within softSyncMs. */
  readonly soft: boolean;
  readonly resolve: (results: Executed[]) => void;
  readonly reject: (error: unknown) => void;
}

