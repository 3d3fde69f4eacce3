/**
 * Figure 5's overload with what comes before it in the full benchmark, quickly: the Node server
 * (started as `npm start` starts it, production hash) on a seeded database, a few logins at 1 and
 * 4 connections, 64 at 64 connections (the figure's reference peak), registrations at 4
 * connections, then 2,000 logins at 192 connections against a queue of 64. It prints the resident
 * set after each phase, the peaks (VmHWM, reset before each measured phase), so a phase that
 * leaves memory behind shows, and the server's page faults per request of each phase: a hash whose
 * 16 MiB block malloc handed back faults its 4,096 pages in again (lib/crypto/threadpool.ts).
 *
 *   node --disable-warning=ExperimentalWarning bench/overload.ts
 *   GLIBC_TUNABLES= node ... bench/overload.ts                           # glibc's own malloc settings
 *   GLIBC_TUNABLES=glibc.malloc.arena_max=2 node ... bench/overload.ts   # two arenas alone
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SCRYPT, hashPassword } from '../lib/crypto/passwords.ts';
import { runLoad } from './load.ts';
import { seedDatabase } from './seed.ts';
import { startLatchkeyNode } from './servers.ts';
import { mib } from './report.ts';
import { MALLOC_TUNABLES } from '../lib/crypto/threadpool.ts';
import { minorFaults } from '../scripts/support/proc-stat.ts';

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
    const nextLogin = () => JSON.stringify({ email: `user${(n++ % ACCOUNTS) + 1}@seed.example`, password: PASSWORD });
    const logins = (connections: number, amount: number, expect = [200]) =>
      runLoad({ url: node.url, path: '/login', method: 'POST', connections, amount, nextBody: nextLogin, expect });
    const faults = () => minorFaults(node.pid) ?? 0;
    let faultsBefore = faults();
    const show = (phase: string, requests: number, peak?: number | null) => {
      const perRequest = requests > 0 ? `, ${Math.round((faults() - faultsBefore) / requests)} page faults a request` : '';
      console.log(`${phase.padEnd(34)} resident ${mib(node.rssKiB())}${peak === undefined ? '' : `, peak ${mib(peak)}`}${perRequest}`);
      faultsBefore = faults();
    };
    show('idle', 0);
    for (const connections of [1, 4]) await logins(connections, 6 * connections);
    show('after logins at 1 and 4 connections', 30);
    node.resetPeak();
    await logins(64, 64);
    const at64 = node.peakRssKiB();
    show('logins at 64 connections', 64, at64);
    let registered = 0;
    for (let round = 0; round < 4; round++) {
      await runLoad({ url: node.url, path: '/register', method: 'POST', connections: 4, amount: 40, nextBody: () => JSON.stringify({ email: `r${registered++}@register.example`, password: PASSWORD }), expect: [202] });
    }
    show('after 160 registrations', 160);
    node.resetPeak();
    const overload = await logins(192, 2000, [200, 503]);
    const peak = node.peakRssKiB();
    show('overload, 192 connections', 2000, peak);
    console.log(`GLIBC_TUNABLES=${process.env.GLIBC_TUNABLES ?? `${MALLOC_TUNABLES} (as npm start sets it)`}: overload peak ÷ 64-connection peak ${((peak ?? 0) / (at64 ?? 1)).toFixed(2)} ${JSON.stringify(overload.statuses)}`);
  } finally {
    await node.stop();
  }
} finally {
  rmSync(temp, { recursive: true, force: true });
}
