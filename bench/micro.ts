/**
 * The small measurements that code comments cite (not in the table):
 * - the session read of lib/storage/sessions.ts as it is (the session first, in a subquery of at
 *   most one row) against a materialized CTE and a plain join, through the sql.js
 *   driver the server uses, in interleaved blocks of 1,000 reads (the median block);
 * - one event line into a pipe through console.log against process.stdout.write (functions/server.ts);
 * - pairs of scrypt hashes at the default cost in a child process under four malloc settings:
 *   glibc's own, two arenas alone, what `npm start` sets (lib/crypto/threadpool.ts MALLOC_TUNABLES)
 *   and a fixed low mmap threshold: each child's time and page faults per pair, and its resident
 *   set at the end.
 *
 *   node --disable-warning=ExperimentalWarning bench/micro.ts
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SCRYPT } from '../lib/crypto/passwords.ts';
import { MALLOC_TUNABLES } from '../lib/crypto/threadpool.ts';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../lib/storage/sqljs/open.ts';

const N = 20_000;
const COLUMNS = `s.id, s.account_id AS accountId, s.client, s.created_at AS createdAt, s.last_seen_at AS lastSeenAt,
  s.revoked_at AS revokedAt, s.secret_hash AS secretHash, a.id AS aId, a.email AS aEmail, a.email_key AS aEmailKey,
  a.password_hash AS aPasswordHash, a.created_at AS aCreatedAt, a.activated_at AS aActivatedAt`;
const READS = {
  'plain join': `SELECT ${COLUMNS} FROM sessions s JOIN accounts a ON a.id = s.account_id WHERE s.id = ?`,
  'session first (materialized CTE)': `WITH s AS MATERIALIZED (SELECT * FROM sessions WHERE id = ?) SELECT ${COLUMNS} FROM s JOIN accounts a ON a.id = s.account_id`,
  'session first (subquery, LIMIT 1)': `SELECT ${COLUMNS} FROM (SELECT * FROM sessions WHERE id = ? LIMIT 1) s JOIN accounts a ON a.id = s.account_id`,
};

const db = await openSqlJsDatabase({ migrations: readMigrations(fileURLToPath(new URL('../migrations', import.meta.url))) });
await db
  .prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
     INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at)
     SELECT printf('00000000-0000-4000-8000-%012d', i), 'u' || i || '@bench.example', 'u' || i || '@bench.example', '$scrypt$bench', 1, 1 FROM n`,
  )
  .run();
const sessionId = 'bench-session-id-00001';
await db
  .prepare('INSERT INTO sessions (id, secret_hash, account_id, client, created_at, last_seen_at) VALUES (?, ?, ?, ?, 1, 1)')
  .bind(sessionId, 'a'.repeat(64), '00000000-0000-4000-8000-000000000500', '192.0.2.1')
  .run();

const BLOCK = 1000;
const blocks: Record<string, number[]> = {};
// Alternating blocks, so that all see the same moments of a shared machine; the median block.
for (let round = 0; round < N / BLOCK; round++) {
  for (const [name, sql] of Object.entries(READS)) {
    const started = performance.now();
    for (let i = 0; i < BLOCK; i++) if (!(await db.prepare(sql).bind(sessionId).first())) throw new Error(`${name} found no row`);
    (blocks[name] ??= []).push(performance.now() - started);
  }
}
for (const [name, ms] of Object.entries(blocks)) {
  const median = ms.sort((a, b) => a - b)[ms.length >> 1]!;
  console.log(`session read, ${name}: ${((median * 1000) / BLOCK).toFixed(1)} µs`);
}
db.close();

// The line writer in a child whose stdout is a pipe, as the server's is under a supervisor.
const child = spawnSync(
  process.execPath,
  [
    '-e',
    `const line = JSON.stringify({ event: 'activation_refused', at: new Date().toISOString(), reason: 'unknown', client: '192.0.2.1', path: '/activate' });
     const time = (write) => { const t = process.hrtime.bigint(); for (let i = 0; i < ${N}; i++) write(); return Number(process.hrtime.bigint() - t) / ${N} / 1000; };
     const a = time(() => console.log(line)), b = time(() => process.stdout.write(line + '\\n'));
     process.stderr.write(JSON.stringify({ a, b }));`,
  ],
  { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 },
);
const lines = JSON.parse(child.stderr.toString()) as { a: number; b: number };
console.log(`event line into a pipe, console.log: ${lines.a.toFixed(2)} µs; process.stdout.write: ${lines.b.toFixed(2)} µs`);

// Pairs of hashes, as two hash slots run them, in a child whose malloc each setting configures at
// its start (glibc reads GLIBC_TUNABLES only then). Without the variable: glibc's own arenas. The
// page faults per pair are the signal that does not depend on the machine's other load: a hash
// whose 16 MiB block was handed back to the system faults 4,096 pages in again.
const PAIRS = 30;
const hashChild = `
  const { scrypt } = require('node:crypto');
  const hash = () => new Promise((ok, fail) => scrypt('pw', 'salt', 64, { N: 2 ** ${DEFAULT_SCRYPT.logN}, r: ${DEFAULT_SCRYPT.r}, p: ${DEFAULT_SCRYPT.p}, maxmem: 256 * 1024 * 1024 }, (e, k) => (e ? fail(e) : ok(k))));
  // Node's own counters (getrusage and the resident set): no /proc line to parse in this child.
  const faults = () => process.resourceUsage().minorPageFault;
  (async () => {
    for (let i = 0; i < 3; i++) await Promise.all([hash(), hash()]);
    const before = faults();
    const t = performance.now();
    for (let i = 0; i < ${PAIRS}; i++) await Promise.all([hash(), hash()]);
    const ms = (performance.now() - t) / ${PAIRS};
    const rss = process.memoryUsage().rss / 1024 / 1024;
    process.stderr.write(JSON.stringify({ ms, faults: (faults() - before) / ${PAIRS}, rss }));
  })();`;
const SETTINGS: Record<string, string | undefined> = {
  "glibc's own": undefined,
  'glibc.malloc.arena_max=2 alone': 'glibc.malloc.arena_max=2',
  [`${MALLOC_TUNABLES} (npm start)`]: MALLOC_TUNABLES,
  'glibc.malloc.mmap_threshold=1048576': 'glibc.malloc.mmap_threshold=1048576',
};
type HashRun = { ms: number; faults: number; rss: number };
const hashRuns: Record<string, HashRun[]> = {};
for (let round = 0; round < 3; round++) {
  for (const [name, tunables] of Object.entries(SETTINGS)) {
    const { GLIBC_TUNABLES: _ignored, ...env } = process.env;
    const run = spawnSync(process.execPath, ['-e', hashChild], { env: tunables === undefined ? env : { ...env, GLIBC_TUNABLES: tunables }, stdio: ['ignore', 'ignore', 'pipe'] });
    (hashRuns[name] ??= []).push(JSON.parse(run.stderr.toString()) as HashRun);
  }
}
const middle = (runs: HashRun[], key: keyof HashRun) => runs.map((r) => r[key]).sort((a, b) => a - b)[1]!;
for (const [name, runs] of Object.entries(hashRuns)) {
  console.log(
    `two scrypt hashes at once, malloc ${name}: ${middle(runs, 'ms').toFixed(0)} ms and ${middle(runs, 'faults').toFixed(0)} page faults a pair, ` +
      `${middle(runs, 'rss').toFixed(0)} MiB resident after ${PAIRS} pairs (median of 3 children)`,
  );
}
