/**
 * Figure 3 alone, quickly (issue 15 §2): the requests that hash nothing against bare Hono, in
 * interleaved rounds, with the server's CPU per request (bench/no-hash.ts, as the full run does).
 * For trying a change to the cheap paths without the ten-minute full run.
 *
 *   [LIMIT_ACTIVATE_PER_CLIENT=off] node --disable-warning=ExperimentalWarning bench/cheap-paths.ts [rounds] [seconds-per-load]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashPassword } from '../lib/crypto/passwords.ts';
import { bearerFor, CHEAP_PARAMS, CHEAP_SCRYPT, noHashFigures } from './no-hash.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { seedDatabase } from './seed.ts';
import { startBareHono, startLatchkeyNode } from './servers.ts';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 3);
const PASSWORD = 'correct horse battery staple';
const EMAIL = 'bench@example.com';

const temp = mkdtempSync(join(tmpdir(), 'latchkey-cheap-'));
const pageToken = BENCH_PAGE_TOKEN;
try {
  const hash = await hashPassword(PASSWORD, CHEAP_PARAMS);
  const db = join(temp, 'cheap.sqlite');
  await seedDatabase({ path: db, accounts: 1000, accountHash: hash, named: [{ email: EMAIL, passwordHash: hash }], pendingTokens: [pageToken] });
  const hello = await startBareHono();
  // The activation counter on, with a limit too high to refuse, as figure 3 has it; or as
  // LIMIT_ACTIVATE_PER_CLIENT says ("off" turns it off, to see what the window costs the page and the POST).
  const limit = process.env.LIMIT_ACTIVATE_PER_CLIENT ?? '9999999/600';
  const node = await startLatchkeyNode(db, { LIMIT_ACTIVATE_PER_CLIENT: limit, ...CHEAP_SCRYPT });
  try {
    const bearer = await bearerFor(node.url, JSON.stringify({ email: EMAIL, password: PASSWORD }));
    const figures = await noHashFigures(node, hello, bearer, { rounds, connections: 16, seconds, pageToken, password: PASSWORD });
    for (const [name, r] of Object.entries(figures)) {
      console.log(
        `${name.padEnd(9)} ${Math.round(r.rps).toString().padStart(6)}/s  ratio ${(r.rps / figures.hello.rps).toFixed(2)}  CPU ${r.cpuMicros?.toFixed(0)} µs/req` +
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
