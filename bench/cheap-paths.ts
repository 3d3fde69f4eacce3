/**
 * Figure 3 alone, quickly (issue 15 §2): the requests that hash nothing against bare Hono, in
 * interleaved rounds, with the server's CPU per request. For trying a change to the cheap paths
 * without the ten-minute full run; the numbers are the same kind as `npm run bench`'s figure 3.
 *
 *   node --disable-warning=ExperimentalWarning bench/cheap-paths.ts [rounds] [seconds-per-load]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../lib/crypto/passwords.ts';
import { mergeLoads, runLoad, type LoadResult } from './load.ts';
import { seedDatabase } from './seed.ts';
import { startBareHono, startLatchkeyNode } from './servers.ts';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 3);
const CONNECTIONS = 16;
const PASSWORD = 'correct horse battery staple';
const EMAIL = 'bench@example.com';
const CHEAP = { logN: 4, r: 8, p: 1 };
const CHEAP_SCRYPT = { SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1' };

const temp = mkdtempSync(join(tmpdir(), 'latchkey-cheap-'));
const pageToken = 'bench-page-token'.padEnd(43, 'p');
try {
  const hash = await hashPassword(PASSWORD, CHEAP);
  const db = join(temp, 'cheap.sqlite');
  await seedDatabase({ path: db, accounts: 1000, accountHash: hash, named: [{ email: EMAIL, passwordHash: hash }], pendingTokens: [pageToken] });
  const hello = await startBareHono();
  const node = await startLatchkeyNode(db, { LIMIT_ACTIVATE_PER_CLIENT: '9999999/600', ...CHEAP_SCRYPT });
  try {
    const login = await fetch(`${node.url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: EMAIL, password: PASSWORD }) });
    const { session } = (await login.json()) as { session: { token: string } };
    const loads = {
      hello: { url: hello.url, path: '/', expect: [200], serverCpu: hello.cpuSeconds },
      health: { url: node.url, path: '/health', expect: [200], serverCpu: node.cpuSeconds },
      session: { url: node.url, path: '/session', headers: { authorization: `Bearer ${session.token}` }, expect: [200], serverCpu: node.cpuSeconds },
      page: { url: node.url, path: `/activate?token=${pageToken}`, expect: [200], serverCpu: node.cpuSeconds },
      invalid: { url: node.url, path: '/activate', method: 'POST' as const, body: JSON.stringify({ token: 'A'.repeat(43), password: PASSWORD }), expect: [400], serverCpu: node.cpuSeconds },
    };
    const runs: Record<string, LoadResult[]> = Object.fromEntries(Object.keys(loads).map((k) => [k, []]));
    for (const spec of Object.values(loads)) await runLoad({ ...spec, connections: CONNECTIONS, amount: 2000 });
    for (let round = 0; round < rounds; round++) {
      for (const [name, spec] of Object.entries(loads)) runs[name]!.push(await runLoad({ ...spec, connections: CONNECTIONS, seconds }));
    }
    const hi = mergeLoads(runs.hello!);
    for (const [name, list] of Object.entries(runs)) {
      const r = mergeLoads(list);
      console.log(
        `${name.padEnd(8)} ${Math.round(r.rps).toString().padStart(6)}/s  ratio ${(r.rps / hi.rps).toFixed(2)}  CPU ${r.cpuMicros?.toFixed(0)} µs/req` +
          `  p99 ${r.p99.toFixed(1)} ms${r.unexpected ? `  UNEXPECTED ${r.unexpected} ${JSON.stringify(r.statuses)}` : ''}`,
      );
    }
  } finally {
    await node.stop();
    await hello.stop();
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
