/**
 * Figure 5's overload on its own: the Node server on a seeded database (production hash), 64
 * right-password logins at 64 connections, then 2,000 at 192 against a queue of 64; the peak
 * resident set of each phase (VmHWM, reset between them). The full benchmark runs the same load
 * after every other Node figure, so its peaks also carry what those left behind; this one does not.
 *
 *   node --disable-warning=ExperimentalWarning bench/overload.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCRYPT, hashPassword } from '../lib/crypto/passwords.ts';
import { runLoad } from './load.ts';
import { seedDatabase } from './seed.ts';
import { startLatchkeyNode } from './servers.ts';

const PASSWORD = 'correct horse battery staple';
const ACCOUNTS = 1000;
const temp = mkdtempSync(join(tmpdir(), 'latchkey-overload-'));
try {
  const db = join(temp, 'overload.sqlite');
  await seedDatabase({ path: db, accounts: ACCOUNTS, accountHash: await hashPassword(PASSWORD, DEFAULT_SCRYPT), pendingTokens: [] });
  const node = await startLatchkeyNode(db);
  try {
    let n = 0;
    // A different seeded account each time, as the full benchmark's logins: one address's back-off
    // would refuse parallel attempts past its free ones.
    const nextBody = () => JSON.stringify({ email: `user${(n++ % ACCOUNTS) + 1}@seed.example`, password: PASSWORD });
    const idle = node.rssKiB();
    node.resetPeak();
    await runLoad({ url: node.url, path: '/login', method: 'POST', connections: 64, amount: 64, nextBody, expect: [200] });
    const at64 = node.peakRssKiB();
    node.resetPeak();
    const overload = await runLoad({ url: node.url, path: '/login', method: 'POST', connections: 192, amount: 2000, nextBody, expect: [200, 503] });
    const peak = node.peakRssKiB();
    const mib = (kib: number | null) => `${Math.round((kib ?? 0) / 1024)} MiB`;
    console.log(`idle ${mib(idle)}, 64 connections ${mib(at64)}, 192 connections ${mib(peak)}: ratio ${((peak ?? 0) / (at64 ?? 1)).toFixed(2)} ${JSON.stringify(overload.statuses)}`);
  } finally {
    await node.stop();
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
