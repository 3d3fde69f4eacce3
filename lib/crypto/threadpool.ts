/**
 * How many password hashes the Node server runs at once, and how many threads libuv's pool needs
 * for them. scrypt runs on that pool, which has 4 threads unless UV_THREADPOOL_SIZE says otherwise,
 * so without sizing it a 16-core machine would hash on 4 of them. libuv reads the variable once,
 * when the pool is first used: `functions/start.ts` sets it (lib/config/threadpool-size.ts) before
 * anything can use the pool.
 *
 * - HASH_MAX_IN_FLIGHT, when set, decides the hashes in flight, and the pool gets as many threads.
 * - Otherwise one hash per core, but no more than a quarter of the machine's memory holds at once
 *   (each scrypt holds its memory while it runs: 16 MiB at the defaults).
 * - An operator's own UV_THREADPOOL_SIZE is left alone, and hashes never outnumber its threads.
 * - Never fewer than libuv's 4 threads: the file system and DNS share the pool.
 */
import { availableParallelism, totalmem } from 'node:os';
import { scryptMemoryBytes, type ScryptParams } from './passwords.ts';

/**
 * What `npm start` sets GLIBC_TUNABLES to unless the operator set it (package.json's start
 * script; tests/node-only/threadpool.test.ts reads it from the running server). scrypt's 16 MiB
 * block comes from glibc's malloc, which by default gives each allocating thread an arena of its
 * own (up to 8 per core) and, once a first block has been freed, serves the next ones from those
 * arenas and keeps them: every pool thread that ever hashed held a block after the hashes were
 * done. So: two arenas, shared by the threads rather than one per thread; blocks under 32 MiB from
 * the arenas always (the most glibc's own threshold would rise to); and no trimming under 128 MiB
 * free, or each hash would fault its block back in page by page. bench/overload.ts measures the
 * server under each (resident set and page faults per phase), bench/micro.ts a bare loop of
 * hashes. Other C libraries ignore the variable.
 */
export const MALLOC_TUNABLES = 'glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=134217728';

/** libuv's pool size when UV_THREADPOOL_SIZE is unset, and the most it accepts. */
export const LIBUV_DEFAULT_THREADS = 4;
const LIBUV_MAX_THREADS = 1024;

/** The share of the machine's memory that hashes in flight may hold together. */
const HASH_MEMORY_SHARE = 0.25;

export interface HashCapacity {
  /** os.availableParallelism(). */
  cores: number;
  /** os.totalmem(). */
  totalMemoryBytes: number;
  /** Memory one hash holds while it runs (scryptMemoryBytes). */
  hashBytes: number;
  /** HASH_MAX_IN_FLIGHT, if set. */
  configured: number | undefined;
}

const byMemory = (c: HashCapacity) => Math.max(1, Math.floor((c.totalMemoryBytes * HASH_MEMORY_SHARE) / c.hashBytes));

/** What the hashes in flight would be with a pool as large as they need. */
const wanted = (c: HashCapacity) => c.configured ?? Math.max(1, Math.min(c.cores, byMemory(c)));

/** The threads libuv will start with this UV_THREADPOOL_SIZE (as libuv reads it, roughly). */
export function poolThreads(variable: string | undefined): number {
  const n = Number(variable);
  return Number.isInteger(n) && n > 0 ? Math.min(n, LIBUV_MAX_THREADS) : LIBUV_DEFAULT_THREADS;
}

/**
 * The UV_THREADPOOL_SIZE to start the process with, or undefined when the operator set one.
 * Set before the pool's first use, this gives every hash in flight a thread of its own.
 */
export function threadpoolSize(c: HashCapacity, variable: string | undefined): number | undefined {
  if (variable?.trim()) return undefined;
  return Math.min(LIBUV_MAX_THREADS, Math.max(LIBUV_DEFAULT_THREADS, wanted(c)));
}

/** Hashes run at once: HASH_MAX_IN_FLIGHT if set, otherwise what the cores, memory and pool allow. */
export function hashSlots(c: HashCapacity, variable: string | undefined): number {
  return c.configured ?? Math.min(wanted(c), poolThreads(variable));
}

/** This machine, for this configuration. */
export function hashCapacity(config: { scrypt: ScryptParams; hashMaxInFlight: number | undefined }): HashCapacity {
  return {
    cores: availableParallelism(),
    totalMemoryBytes: totalmem(),
    hashBytes: scryptMemoryBytes(config.scrypt),
    configured: config.hashMaxInFlight,
  };
}
