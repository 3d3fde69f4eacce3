/**
 * /proc/<pid>/stat read the one safe way (Linux): the fields after the command, which is in
 * parentheses and may itself hold spaces and parentheses. Used by the benchmark and the tests that
 * count rather than time: CPU ticks, page faults, a thread's state, a process's group.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Indexes into statFields(): proc(5)'s field numbers less three. */
export const STAT = { state: 0, processGroup: 2, minorFaults: 7, userTicks: 11, systemTicks: 12 } as const;

const CLOCK_TICKS = 100;

/** The fields of a stat file (`/proc/<pid>/stat`, `/proc/<pid>/task/<tid>/stat`) after the command; null once the process is gone. */
export function statFields(path: string): string[] | null {
  try {
    const stat = readFileSync(path, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** User and system CPU time of a process, in seconds; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields ? (Number(fields[STAT.userTicks]) + Number(fields[STAT.systemTicks])) / CLOCK_TICKS : null;
}

/** Minor page faults of a process so far; null once it is gone. */
export function minorFaults(pid: number): number | null {
  const fields = statFields(`/proc/${pid}/stat`);
  return fields ? Number(fields[STAT.minorFaults]) : null;
}

/** The processes of a process group now (npm and the server it runs, wrangler and its workerd). */
export function processGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => Number(statFields(`/proc/${pid}/stat`)?.[STAT.processGroup]) === pgid);
}

/**
 * How often a process's main thread has gone to sleep waiting (its voluntary context switches),
 * `self` for this one; null once it is gone. A load generator that sleeps once an answer must be
 * woken once an answer (bench/cheap-paths-ab.ts).
 */
export function voluntarySwitches(pid: number | 'self'): number | null {
  try {
    const match = /^voluntary_ctxt_switches:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}
