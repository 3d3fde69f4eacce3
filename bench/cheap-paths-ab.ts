/**
 * Figure 3 for two versions of the code in one run: this checkout's Node server and another's
 * (a `git worktree` of the commit before a change, say), each on its own copy of the same seeded
 * database, taking turns path by path (the order swapped each round) with bare Hono once a round.
 * On a machine that other work shares, only figures taken side by side like this compare.
 *
 *   git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/node_modules
 *   node --disable-warning=ExperimentalWarning bench/cheap-paths-ab.ts /tmp/before [rounds] [seconds-per-load] [paths]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mergeLoads, runLoad, type LoadResult } from './load.ts';
import { CHEAP_PASSWORD, cheapRequests, startCheapNode, type CheapPath, type CheapRequest } from './no-hash.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { ROOT, startBareHono } from './servers.ts';
import { cpuSeconds, voluntarySwitches } from '../scripts/support/proc-stat.ts';

const other = process.argv[2];
if (!other) throw new Error('usage: cheap-paths-ab.ts <other checkout> [rounds] [seconds] [health,session,page,invalid]');
const rounds = Number(process.argv[3] ?? 4);
const seconds = Number(process.argv[4] ?? 2);
const paths = (process.argv[5] ?? 'health,session,page,invalid').split(',') as CheapPath[];
const temp = mkdtempSync(join(tmpdir(), 'latchkey-ab-'));

/** A checkout's server on its own copy of the seeded database, with figure 3's requests for it. */
async function start(root: string, name: string) {
  const server = await startCheapNode(temp, name, { root });
  return { ...server, name, requests: cheapRequests({ pageToken: BENCH_PAGE_TOKEN, password: CHEAP_PASSWORD }, server.bearer) };
}

const hello = await startBareHono();
const servers = [await start(resolve(other), 'other'), await start(ROOT, 'this')];
try {
  const runs = new Map<string, LoadResult[]>();
  // How often the load generator (autocannon, in this process's main thread) went to sleep
  // waiting for answers: each time, an answer had to wake it (functions/answers-together.ts).
  const sleeps = new Map<string, number>();
  const load = async (key: string, url: string, pid: number, spec: CheapRequest) => {
    const before = voluntarySwitches('self');
    const result = await runLoad({ url, connections: 16, seconds, ...spec, serverCpu: () => cpuSeconds(pid) });
    const after = voluntarySwitches('self');
    runs.set(key, [...(runs.get(key) ?? []), result]);
    if (before !== null && after !== null) sleeps.set(key, (sleeps.get(key) ?? 0) + after - before);
  };
  const sleepsPerAnswer = (key: string, requests: number) => (sleeps.has(key) ? `  client slept ${(sleeps.get(key)! / requests).toFixed(2)}/answer` : '');
  // Once each first, so that no figure pays for compiling code or a cold connection.
  for (const s of servers) for (const p of paths) await runLoad({ url: s.url, connections: 16, seconds: 1, ...s.requests[p] });
  for (let round = 0; round < rounds; round++) {
    await load('hello', hello.url, hello.pid, { path: '/', expect: [200] });
    for (const p of paths) for (const s of round % 2 ? [...servers].reverse() : servers) await load(`${p} ${s.name}`, s.url, s.pid, s.requests[p]);
  }
  const base = mergeLoads(runs.get('hello')!);
  console.log(`hello        ${Math.round(base.rps).toString().padStart(6)}/s  CPU ${base.cpuMicros?.toFixed(0)} µs/req${sleepsPerAnswer('hello', base.requests)}`);
  for (const [key, results] of runs) {
    if (key === 'hello') continue;
    const r = mergeLoads(results);
    console.log(`${key.padEnd(13)}${Math.round(r.rps).toString().padStart(6)}/s  ratio ${(r.rps / base.rps).toFixed(2)}  CPU ${r.cpuMicros?.toFixed(0)} µs/req${sleepsPerAnswer(key, r.requests)}${r.unexpected ? `  UNEXPECTED ${JSON.stringify(r.statuses)}` : ''}`);
  }
} finally {
  for (const s of servers) await s.stop();
  await hello.stop();
  rmSync(temp, { recursive: true, force: true });
}
