/**
 * libuv's pool threads of a running process, read from /proc (Linux): how many are hashing. Used by
 * the thread-pool test and by the benchmark's figure 1, which both count hashes under way at once
 * rather than time them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { STAT, statFields } from './proc-stat.ts';

/** libuv names its pool threads "libuv-worker": each one's state letter (R: running or ready to run). */
export function poolThreadStates(pid: number): string[] {
  const states: string[] = [];
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() !== 'libuv-worker') continue;
      const state = statFields(`/proc/${pid}/task/${tid}/stat`)?.[STAT.state];
      if (state !== undefined) states.push(state);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return states;
}

/**
 * Polls the pool every few milliseconds until stopped: the most threads seen running at the same
 * moment, and how many pool threads there were.
 */
export function watchPool(pid: number, everyMs = 2): { stop(): Promise<{ most: number; threads: number }> } {
  let most = 0;
  let threads = 0;
  let done = false;
  const watching = (async () => {
    while (!done) {
      const states = poolThreadStates(pid);
      threads = Math.max(threads, states.length);
      most = Math.max(most, states.filter((state) => state === 'R').length);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    async stop() {
      done = true;
      await watching;
      return { most, threads };
    },
  };
}
