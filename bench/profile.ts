/**
 * A CPU profile of the server on one cheap path (issue 15 §2): starts the Node server as `npm start`
 * does under `node --cpu-prof` (bench/no-hash.ts startCheapNode, figure 3's server), sends it a
 * fixed number of one of figure 3's requests, stops it (SIGTERM, so the profile is written), and
 * prints the functions with the most self time and the share of each area. The per-client throttle
 * stays on (a limit too high to refuse) so its counter is profiled.
 *
 *   node --disable-warning=ExperimentalWarning bench/profile.ts [health|page|unknown-token|session] [requests] [connections]
 *
 * With KEEP_PROFILE=1 the .cpuprofile file is kept, and its path printed, for a closer look (Chrome's
 * DevTools open it).
 *
 * `page` asks for a seeded pending link, so it profiles the page a person sees; `session` logs in to
 * a seeded account once (the tests' cheap hash) and then profiles GET /session with its token.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './load.ts';
import { CHEAP_PASSWORD, cheapRequests, startCheapNode } from './no-hash.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { ROOT } from './servers.ts';

const NAMES = { health: 'health', page: 'page', 'unknown-token': 'invalid', session: 'session' } as const;
const which = (process.argv[2] ?? 'unknown-token') as keyof typeof NAMES;
const amount = Number(process.argv[3] ?? 20_000);
// 4 by default; figure 3's 16 show how the answers of a turn leave together (functions/answers-together.ts).
const connections = Number(process.argv[4] ?? 4);
if (!NAMES[which]) throw new Error(`path must be one of ${Object.keys(NAMES).join(', ')}`);

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-profile-'));
const server = await startCheapNode(dir, 'profile', { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const spec = cheapRequests({ pageToken: BENCH_PAGE_TOKEN, password: CHEAP_PASSWORD }, server.bearer)[NAMES[which]];
const load = await runLoad({ url: server.url, connections, amount, ...spec });
// SIGTERM: the server ends as it should, and Node writes the profile on the way out.
await server.stop();

const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
if (!file) throw new Error('no profile written');
const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
if (process.env.KEEP_PROFILE) console.log(`profile kept: ${join(dir, file)}`);
else rmSync(dir, { recursive: true, force: true });

const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
const self = new Map<string, number>();
const areas = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const t = profile.timeDeltas[i] ?? 0;
  const frame = frames.get(id)!;
  const where = frame.url.replace(/^.*?\/(node_modules\/)/, '$1').replace(`file://${ROOT}`, '');
  const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`;
  if (name.startsWith('(idle)')) return;
  total += t;
  self.set(name, (self.get(name) ?? 0) + t);
  const area = /^\((garbage collector|program)\)/.test(name)
    ? name.slice(1, name.indexOf(')'))
    : /node_modules\/(@hono\/node-server|hono|sql\.js|@hono\/zod-openapi|zod)\//.exec(where)?.[1] ?? (where.startsWith('node:') ? 'node core' : /^(lib|functions)\//.test(where) ? 'latchkey' : where ? where.split('/')[0]! : 'native');
  areas.set(area, (areas.get(area) ?? 0) + t);
});
const pct = (t: number) => `${((100 * t) / total).toFixed(1)}%`;
console.log(`${which}: ${load.requests} requests at ${connections} connections, ${load.rps.toFixed(0)}/s, statuses ${JSON.stringify(load.statuses)}; main thread not idle for ${(total / 1000).toFixed(0)} ms of the profile, ${(total / load.requests).toFixed(1)} µs per request (time blocked in a system call counts)`);
console.log('\n| self time | function |\n|---|---|');
for (const [name, t] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`| ${pct(t)} | \`${name}\` |`);
console.log('\n| area | self time |\n|---|---|');
for (const [area, t] of [...areas].sort((a, b) => b[1] - a[1])) console.log(`| ${area} | ${pct(t)} |`);
