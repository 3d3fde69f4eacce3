/**
 * Processes that hold a database file's lock, for the lock tests: one that is our own child, and
 * one whose parent never reaps it, so that after a SIGKILL it stays a zombie (as a server whose
 * npm died with it does until PID 1 reaps it, or for good in a container without an init).
 * Node-only.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STAT, statFields } from '../../scripts/support/proc-stat.ts';

const LOCK_MODULE = fileURLToPath(new URL('../../lib/storage/sqljs/lock.ts', import.meta.url));

// Takes the lock, says so with its pid, and waits to be killed.
const HOLDER = `
const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
acquireLock(process.argv[1], process.argv[2]);
process.stdout.write('locked ' + process.pid + '\\n');
setInterval(() => {}, 60_000);
`;

export interface Holder {
  /** The process that holds the lock. */
  pid: number;
  /** Where there is one, the process that stands in for its parent and never reaps it. */
  parent: ChildProcess;
}

/**
 * Starts a lock holder. With `unreaped`, it is started from a shell that then becomes `sleep`:
 * sleep is its parent and never waits for it, so once killed it is a zombie until sleep ends.
 */
export function holdLock(lockPath: string, dbPath: string, { unreaped = false } = {}): Promise<Holder> {
  const node = [process.execPath, '--disable-warning=ExperimentalWarning', '--input-type=module', '-e', HOLDER, lockPath, dbPath];
  const child = unreaped
    ? spawn('sh', ['-c', '"$@" & exec sleep 120', 'sh', ...node], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const m = /locked (\d+)\n/.exec(out);
      if (m) resolve({ pid: Number(m[1]), parent: child });
    });
    child.once('exit', () => reject(new Error(`lock holder exited: ${err}`)));
    setTimeout(() => reject(new Error(`lock holder did not lock in time: ${err}`)), 15_000);
  });
}

// Tries the lock once, from a process of its own, and says whether it got it.
const PROBE = `
const { acquireLock } = await import(${JSON.stringify(LOCK_MODULE)});
try { acquireLock(process.argv[1], process.argv[2]).release(); console.log('free'); }
catch (error) { if (error.name !== 'DatabaseInUseError') throw error; console.log('held: ' + error.message); }
`;

/**
 * Whether another process could take the lock now. Asked from a separate process because in this
 * one, opening the file again always succeeds (it stands for a restart) and merely reading the
 * lock file would drop a POSIX lock this process holds.
 */
export function lockIsFree(lockPath: string, dbPath: string): boolean {
  const probe = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', PROBE, lockPath, dbPath], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`lock probe failed: ${probe.stderr}`);
  return probe.stdout.trim() === 'free';
}

/** The state letter from /proc/PID/stat (R, S, Z…), or null if there is no such process. */
export function processState(pid: number): string | null {
  return statFields(`/proc/${pid}/stat`)?.[STAT.state] ?? null;
}

/**
 * A zombie whose threads have all exited. Node runs several threads; the main one shows `Z` as soon
 * as it has exited, while the others may still be closing the process's files for a moment.
 */
export function isWholeZombie(pid: number): boolean {
  try {
    return processState(pid) === 'Z' && readdirSync(`/proc/${pid}/task`).length === 1;
  } catch {
    return false;
  }
}

/** Whether kill(pid, 0) says the process exists: it does for a zombie. */
export function signalable(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
