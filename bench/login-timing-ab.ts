/**
 * Figure 2's timing rows for two versions of the code in one run: this checkout's Node server and
 * another's (a `git worktree` of the commit before a change), production scrypt, each on its own
 * copy of the same seeded accounts, taking turns round by round, the three branches shuffled in
 * each (bench/login-timing.ts). A full run's timing row rests on 15 samples a branch, over which
 * the machine's hash time moves by a third; this says whether a change moved the branches apart.
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   node --disable-warning=ExperimentalWarning bench/login-timing-ab.ts /tmp/before [rounds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_SCRYPT, hashPassword } from '../lib/crypto/passwords.ts';
import { PASSWORD, SEEDED_ACCOUNTS, timingFigures, type Timing } from './login-timing.ts';
import { fmt, ms } from './report.ts';
import { seedDatabase } from './seed.ts';
import { ROOT, startLatchkeyNode } from './servers.ts';

const other = process.argv[2];
if (!other) throw new Error('usage: login-timing-ab.ts <other checkout> [rounds]');
const rounds = Number(process.argv[3] ?? 20);
const temp = mkdtempSync(join(tmpdir(), 'latchkey-timing-ab-'));
const hash = await hashPassword(PASSWORD, DEFAULT_SCRYPT);

async function start(root: string, name: string) {
  const path = join(temp, `${name}.sqlite`);
  await seedDatabase({ path, accounts: SEEDED_ACCOUNTS, accountHash: hash });
  return { ...(await startLatchkeyNode(path, {}, root)), name };
}

const servers = [await start(resolve(other), 'other'), await start(ROOT, 'this')];
try {
  const warn = (message: string) => console.log(`warning: ${message}`);
  // Two rounds first, unreported, so that neither pays for compiling code.
  await timingFigures(servers.map((s) => s.url), 2, warn);
  const figures = await timingFigures(servers.map((s) => s.url), rounds, warn);
  for (const [i, s] of servers.entries()) {
    const t: Timing = figures[i]!;
    const range = (xs: number[]) => `${ms(Math.min(...xs))}–${ms(Math.max(...xs))}`;
    console.log(
      `${s.name.padEnd(6)} medians right ${ms(t.right.p50)}, wrong ${ms(t.wrong.p50)}, unknown ${ms(t.unknown.p50)}` +
        `  (ranges ${range(t.right.samples)}, ${range(t.wrong.samples)}, ${range(t.unknown.samples)})` +
        `  wrong ÷ right ${fmt(t.wrong.p50 / t.right.p50)}, unknown ÷ right ${fmt(t.unknown.p50 / t.right.p50)}`,
    );
  }
} finally {
  for (const s of servers) await s.stop();
  rmSync(temp, { recursive: true, force: true });
}
