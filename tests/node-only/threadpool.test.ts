/**
 * Issue 15 §1: more than four hashes at once. scrypt runs on libuv's thread pool, which has 4
 * threads unless UV_THREADPOOL_SIZE is set before its first use; `npm start` (functions/start.ts)
 * sets it to the hashes in flight. Proved without a big machine: the real server, started the way
 * `npm start` starts it with HASH_MAX_IN_FLIGHT=8, gets 8 pool threads, and 8 registrations sent
 * at once are seen hashing on 8 threads at the same moment. Started without the entry, the same
 * server has 4 threads and never shows more than 4 at once: the signal tells the two apart. It is
 * not a timing test: 4 threads can never look like 8, and 8 hashes stay under way together for a
 * second or more, which a poll of /proc every few milliseconds does not miss. Linux
 * only (it reads /proc), like the machines we run on.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SCRYPT, scryptMemoryBytes } from '../../lib/crypto/passwords.ts';
import { hashSlots, LIBUV_DEFAULT_THREADS, MALLOC_TUNABLES, poolThreads, threadpoolSize, type HashCapacity } from '../../lib/crypto/threadpool.ts';
import { poolThreadStates, watchPool } from '../../scripts/support/pool-threads.ts';
import { processGroup } from '../../scripts/support/proc-stat.ts';
import { spawnServer, stopNodeServer, type NodeServer } from '../support/server-node.ts';
import type { ServerProcess } from '../../scripts/support/server-process.ts';
import { serversForEachTest } from '../support/servers-per-test.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const DEFAULT_HASH = scryptMemoryBytes(DEFAULT_SCRYPT);

describe('sizing the pool and the hashes in flight', () => {
  const machine = (cores: number, memory: number, configured?: number): HashCapacity => ({
    cores,
    totalMemoryBytes: memory,
    hashBytes: DEFAULT_HASH,
    configured,
  });

  it('a hash of the default cost holds about 16 MiB', () => {
    expect(DEFAULT_HASH).toBeGreaterThan(16 * MiB);
    expect(DEFAULT_HASH).toBeLessThan(17 * MiB);
  });

  it('one thread and one hash per core on a machine with memory to spare', () => {
    for (const cores of [8, 16, 64]) {
      const size = threadpoolSize(machine(cores, 64 * GiB), undefined);
      expect(size).toBe(cores);
      expect(hashSlots(machine(cores, 64 * GiB), String(size))).toBe(cores);
    }
  });

  it('never fewer than libuv\'s 4 threads, since the file system shares them; hashes still one per core', () => {
    expect(threadpoolSize(machine(2, 8 * GiB), undefined)).toBe(LIBUV_DEFAULT_THREADS);
    expect(hashSlots(machine(2, 8 * GiB), '4')).toBe(2);
  });

  it('memory caps the hashes: a quarter of it, 16 MiB each', () => {
    // 16 cores and 256 MiB: a quarter is 64 MiB, which holds 3 hashes of 16 MiB and a bit.
    expect(hashSlots(machine(16, 256 * MiB), String(threadpoolSize(machine(16, 256 * MiB), undefined)))).toBe(3);
    expect(threadpoolSize(machine(16, 256 * MiB), undefined)).toBe(LIBUV_DEFAULT_THREADS);
    // Even a tiny machine hashes one at a time rather than not at all.
    expect(hashSlots(machine(4, 16 * MiB), '4')).toBe(1);
  });

  it('HASH_MAX_IN_FLIGHT wins, over cores and memory, and the pool grows to it', () => {
    expect(threadpoolSize(machine(2, 256 * MiB, 8), undefined)).toBe(8);
    expect(hashSlots(machine(2, 256 * MiB, 8), '8')).toBe(8);
  });

  it('an operator\'s UV_THREADPOOL_SIZE is left alone, and hashes never outnumber its threads', () => {
    expect(threadpoolSize(machine(16, 64 * GiB), '6')).toBeUndefined();
    expect(hashSlots(machine(16, 64 * GiB), '6')).toBe(6);
    expect(poolThreads('5000')).toBe(1024);
    expect(poolThreads('none')).toBe(LIBUV_DEFAULT_THREADS);
  });

  it('without the entry (server.ts run directly), the pool stays at 4 and so do the hashes', () => {
    expect(hashSlots(machine(16, 64 * GiB), undefined)).toBe(4);
  });
});

const HASHES = 8;
// About 300 ms of CPU per hash here (N·r·p at the most workerd allows): far longer than the
// registrations take to arrive even on a busy machine, so the first hash is still under way when
// the last one starts, and eight of them stay under way together for a second or more.
const SCRYPT = { SCRYPT_LOG_N: '14', SCRYPT_R: '8', SCRYPT_P: '8' };

/**
 * Sends HASHES registrations at once and watches the server's pool threads meanwhile: the most
 * that were hashing (running or ready to run) at the same moment. A pool of 4 threads can never
 * show more than 4, however the machine schedules; 8 threads show 8 while all 8 hashes are under way.
 */
async function hashingAtOnce(server: NodeServer): Promise<{ threads: number; most: number; started: Record<string, unknown> }> {
  const port = await server.started;
  const pid = server.child.pid!;
  const watch = watchPool(pid);
  const statuses = await Promise.all(
    Array.from({ length: HASHES }, (_, i) =>
      fetch(`http://127.0.0.1:${port}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `user${i}@example.com`, password: 'correct horse battery staple' }),
      }).then(async (res) => (await res.arrayBuffer(), res.status)),
    ),
  );
  const { most } = await watch.stop();
  expect(statuses).toEqual(Array(HASHES).fill(202));
  const started = server.lines.find((l) => l.event === 'server_started')!;
  return { threads: poolThreadStates(pid).length, most, started };
}

describe.runIf(process.platform === 'linux')('hashes in flight beyond four, in the real server', () => {
  let dir: string;
  let server: NodeServer | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-pool-'));
  });
  afterEach(async () => {
    if (server) await stopNodeServer(server);
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  // Through the entry, the pool grows to the 8 hashes; without it, it stays at libuv's 4 and a
  // pool of 4 can never be seen with more than 4 at once: the signal tells the two apart.
  for (const [entry, threads] of [['start', HASHES], ['server', LIBUV_DEFAULT_THREADS]] as const) {
    it(`HASH_MAX_IN_FLIGHT=8, started through ${entry}.ts: ${threads} pool threads, and ${threads} hashes seen under way at once`, async () => {
      server = spawnServer(join(dir, `${entry}.sqlite`), { ...SCRYPT, HASH_MAX_IN_FLIGHT: String(HASHES) }, { entry });
      const seen = await hashingAtOnce(server);
      expect(seen.started).toMatchObject({ hashSlots: HASHES, threadpool: threads });
      expect(seen.threads).toBe(threads);
      expect(seen.most).toBe(threads);
    });
  }

  it('started as `npm start` does on this machine, with nothing set: one hash per core, at least libuv\'s 4 threads', async () => {
    server = spawnServer(join(dir, 'c.sqlite'), { ...SCRYPT }, { entry: 'start' });
    const { cores, threads } = { cores: availableParallelism(), threads: Math.max(LIBUV_DEFAULT_THREADS, availableParallelism()) };
    const seen = await hashingAtOnce(server);
    expect(seen.started).toMatchObject({ hashSlots: cores, threadpool: threads });
    expect(seen.threads).toBe(threads);
    // The queue lets one hash per core through, and the pool has a thread for each. (A thread that
    // has just finished a hash may still show R for a moment while the next one starts elsewhere,
    // so the most seen can pass the slots by one here; what it cannot pass is the pool's threads.)
    expect(seen.most).toBeGreaterThanOrEqual(Math.min(cores, HASHES));
    expect(seen.most).toBeLessThanOrEqual(threads);
  });
});

/**
 * GLIBC_TUNABLES as the Node process that `npm start` (npm, its shell, env) ended up running was
 * started with. glibc reads the variable in place at start, turning each ':' into a NUL, so in
 * /proc/<pid>/environ the tunables after the first look like entries of their own: they are
 * joined back here.
 */
function serverTunables(server: ServerProcess): string | undefined {
  for (const pid of processGroup(server.child.pid!)) {
    let entries: string[];
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('functions/start.ts')) continue;
      entries = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      continue; // a process that ended while it was read: not the server, which is up
    }
    const at = entries.findIndex((entry) => entry.startsWith('GLIBC_TUNABLES='));
    if (at < 0) return undefined;
    const parts = [entries[at]!.slice('GLIBC_TUNABLES='.length)];
    for (const entry of entries.slice(at + 1)) {
      if (!entry.startsWith('glibc.')) break;
      parts.push(entry);
    }
    return parts.join(':');
  }
  throw new Error('no server process found under npm start');
}

describe.runIf(process.platform === 'linux')('npm start and glibc\'s malloc arenas', () => {
  const { npmStart, databasePath } = serversForEachTest();

  it('the server runs with glibc\'s malloc set for scrypt: two arenas, blocks kept in them', async () => {
    const server = await npmStart({ DATABASE_PATH: databasePath('latchkey-arenas-'), GLIBC_TUNABLES: '' });
    await server.waitForLine((l) => l.event === 'server_started');
    expect(serverTunables(server)).toBe(MALLOC_TUNABLES);
  });

  it('an operator\'s own GLIBC_TUNABLES is left as it is', async () => {
    const own = 'glibc.malloc.arena_max=4:glibc.malloc.tcache_count=0';
    const server = await npmStart({ DATABASE_PATH: databasePath('latchkey-arenas-'), GLIBC_TUNABLES: own });
    await server.waitForLine((l) => l.event === 'server_started');
    expect(serverTunables(server)).toBe(own);
  });
});
