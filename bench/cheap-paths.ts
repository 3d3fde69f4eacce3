/**
 * Figure 3 alone, quickly (issue 15 §2): the requests that hash nothing against bare Hono, in
 * interleaved rounds, with the server's CPU per request (bench/no-hash.ts, as the full run does).
 * For trying a change to the cheap paths without the ten-minute full run.
 *
 *   [LIMIT_ACTIVATE_PER_CLIENT=off] node --disable-warning=ExperimentalWarning bench/cheap-paths.ts [rounds] [seconds-per-load]
 *
 * LIMIT_ACTIVATE_PER_CLIENT=off takes the page and the POST out of the client's window, to see
 * what counting them costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CHEAP_PASSWORD, noHashFigures, startCheapNode } from './no-hash.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { startBareHono } from './servers.ts';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 3);

const temp = mkdtempSync(join(tmpdir(), 'latchkey-cheap-'));
try {
  const hello = await startBareHono();
  const node = await startCheapNode(temp, 'cheap', { limit: process.env.LIMIT_ACTIVATE_PER_CLIENT });
  try {
    const figures = await noHashFigures(node, hello, node.bearer, { rounds, connections: 16, seconds, pageToken: BENCH_PAGE_TOKEN, password: CHEAP_PASSWORD });
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
