/**
 * The hash-bound limit: how many password hashes per second this machine does with the configured
 * scrypt parameters when `concurrency` hashes run at once, as the server's hash queue lets them
 * (node:crypto's async scrypt runs on libuv's thread pool, like the server's).
 */
import { hashPassword, type ScryptParams } from '../lib/crypto/passwords.ts';

export interface HashRate {
  concurrency: number;
  hashes: number;
  seconds: number;
  perSecond: number;
  /** Mean time of one hash at this concurrency. */
  meanMs: number;
}

export async function measureHashRate(params: ScryptParams, concurrency: number, seconds: number): Promise<HashRate> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const durations: number[] = [];
  let lastEnd = start;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        const t = performance.now();
        await hashPassword(`benchmark password ${worker}`, params);
        lastEnd = performance.now();
        durations.push(lastEnd - t);
      }
    }),
  );
  const elapsed = (lastEnd - start) / 1000;
  return {
    concurrency,
    hashes: durations.length,
    seconds: elapsed,
    perSecond: durations.length / elapsed,
    meanMs: durations.reduce((a, b) => a + b, 0) / durations.length,
  };
}
