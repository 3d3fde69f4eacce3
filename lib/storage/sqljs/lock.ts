/**
 * One server per database file. sql.js holds the whole database in the server's memory, so a
 * second writer would silently undo the first one's writes at its next snapshot.
 *
 * The lock is one the kernel keeps: a POSIX record lock (fcntl) on `<file>.lock`, taken through
 * SQLite's own locking (node:sqlite, `locking_mode = EXCLUSIVE`), which is how Node can take one.
 * The kernel drops it when its holder's files are closed, which happens as the process exits,
 * before it becomes a zombie: a kill of the whole process group, a zombie that PID 1 reaps late or
 * never (no init), a PID reused by another process or in a new PID namespace after a container
 * restart cannot keep it. Two containers on one host that share the volume see each other's lock,
 * since both go through the one kernel. docs/reliability.md has the cases and what a filesystem
 * shared between hosts does.
 *
 * The lock file is never deleted (deleting and re-creating it would let two servers lock two
 * different files under one name). It holds the holder's PID (SQLite's user_version) only to name
 * it in the refusal.
 *
 * A POSIX lock belongs to the process, and closing ANY descriptor of the file in that process
 * drops it. So this process never opens a lock file it holds: `held` answers for those.
 */
import * as nodeFs from 'node:fs';
import { basename, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { DatabaseFileError, openPrivate } from './files.ts';

/** Another live process holds the database. */
export class DatabaseInUseError extends DatabaseFileError {
  override name = 'DatabaseInUseError';
}

export interface Lock {
  release(): void;
}

interface Held {
  db: DatabaseSync;
  owner: object;
}

const held = new Map<string, Held>();

const SQLITE_BUSY = 5;
/** Tries after a refusal, for two servers that collided at start (see acquireLock). */
const BUSY_RETRIES = 4;

/** A synchronous wait: the lock is taken before the server serves anything, so nothing else waits on it. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
const SQLITE_NOTADB = 26;
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');
const USER_VERSION_OFFSET = 60;

export function acquireLock(lockPath: string, dbPath: string): Lock {
  const key = resolve(lockPath);
  const mine = held.get(key);
  // An engine of this process that was never closed: the same process opening the file again
  // stands for a restart after a kill (the crash-window tests do this). The new engine takes over
  // the process's lock; the old one's release no longer touches it.
  if (mine) return ownedBy(key, mine);
  let busy = 0;
  for (let attempt = 0; attempt < 3 + BUSY_RETRIES; attempt++) {
    const outcome = tryLock(lockPath);
    if (typeof outcome === 'object') {
      const entry: Held = { db: outcome, owner: {} };
      held.set(key, entry);
      return ownedBy(key, entry);
    }
    if (outcome === 'busy') {
      // Two servers starting at the same moment can each take SQLite's shared lock on the lock
      // file before either asks for the exclusive one, and then both are refused (locking_mode
      // EXCLUSIVE keeps a shared lock once taken). Both let go when they close; after a short
      // random wait one of them wins. A server that really holds the lock refuses every try.
      if (++busy > BUSY_RETRIES) throw inUse(dbPath, lockPath, holderOf(lockPath));
      pause(5 + Math.floor(Math.random() * 45));
      continue;
    }
    if (outcome === 'foreign') {
      // Not a lock database: a lock file written by a version before this lock (a bare PID), or
      // one cut short by a crash. Its PID counts if a process that is not a zombie has it.
      const pid = legacyHolder(lockPath);
      if (pid !== null && isLiveProcess(pid)) throw inUse(dbPath, lockPath, pid);
      nodeFs.truncateSync(lockPath, 0); // the same file, emptied: every server locks one inode
    }
    // 'moved': the file was replaced under us; try again on the one the name now points at.
  }
  throw new DatabaseFileError(`Could not take the lock ${lockPath} for ${dbPath}: the file keeps changing.`);
}

function ownedBy(key: string, entry: Held): Lock {
  const owner = {};
  entry.owner = owner;
  return {
    release: () => {
      if (entry.owner !== owner) return;
      held.delete(key);
      entry.db.close();
    },
  };
}

function tryLock(lockPath: string): DatabaseSync | 'busy' | 'foreign' | 'moved' {
  // Created here, private, rather than by SQLite (which would use 0644 less the umask).
  nodeFs.closeSync(openPrivate(lockPath, 'a'));
  const before = nodeFs.statSync(lockPath);
  // Loaded when first needed: in-memory databases (most tests) never lock, and Node 22 warns that
  // node:sqlite is experimental when it loads.
  const { DatabaseSync } = process.getBuiltinModule('node:sqlite');
  const db = new DatabaseSync(lockPath);
  try {
    db.exec('PRAGMA locking_mode = EXCLUSIVE');
    db.exec('PRAGMA journal_mode = MEMORY'); // no -journal file beside the lock
    db.exec('BEGIN EXCLUSIVE');
    db.exec(`PRAGMA user_version = ${process.pid}`);
    // In EXCLUSIVE locking mode the lock outlives the transaction: it is held until close().
    db.exec('COMMIT');
  } catch (error) {
    db.close();
    const code = (error as { errcode?: number }).errcode;
    if (code === SQLITE_BUSY) return 'busy';
    if (code === SQLITE_NOTADB) return 'foreign';
    const why = error instanceof Error ? error.message : String(error);
    throw new DatabaseFileError(`Could not take the lock ${lockPath} (${why}). Its filesystem must support POSIX (fcntl) locks.`);
  }
  const after = nodeFs.statSync(lockPath, { throwIfNoEntry: false });
  if (!after || after.ino !== before.ino || after.dev !== before.dev) {
    db.close();
    return 'moved';
  }
  return db;
}

/** The PID the holder wrote, as its own PID namespace numbers it; null if it cannot be read. */
function holderOf(lockPath: string): number | null {
  try {
    const bytes = nodeFs.readFileSync(lockPath);
    if (bytes.length < USER_VERSION_OFFSET + 4 || !bytes.subarray(0, SQLITE_HEADER.length).equals(SQLITE_HEADER)) return null;
    return bytes.readUInt32BE(USER_VERSION_OFFSET) || null;
  } catch {
    return null;
  }
}

function legacyHolder(lockPath: string): number | null {
  try {
    const text = nodeFs.readFileSync(lockPath, 'latin1');
    if (!/^\d+\n?$/.test(text)) return null;
    const pid = Number.parseInt(text, 10);
    return pid > 0 && pid !== process.pid ? pid : null;
  } catch {
    return null;
  }
}

/**
 * For old lock files only. kill(pid, 0) succeeds on a zombie, so /proc says whether it is one;
 * where there is no /proc, kill's answer is all there is.
 */
export function isLiveProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = nodeFs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The state follows the command name, which is in parentheses and may itself hold any byte.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' || !nodeFs.existsSync('/proc/self/stat');
  }
}

const inUse = (dbPath: string, lockPath: string, holder: number | null) =>
  new DatabaseInUseError(
    `Database ${dbPath} is in use by ${holder ? `process ${holder}` : 'another process'} (lock file ${basename(lockPath)}). ` +
      `Stop that server first. The lock goes with the process that holds it: there is nothing to delete.`,
  );
