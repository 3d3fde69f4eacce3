/**
 * A CPU profile of the server on one cheap path (issue 15 §2): starts the Node server as `npm start`
 * does under `node --cpu-prof`, sends it a fixed number of requests, stops it (SIGTERM, so the
 * profile is written), and prints the functions with the most self time and the share of each
 * area. The per-client throttle stays on (a limit too high to refuse) so its counter is profiled.
 *
 *   node --disable-warning=ExperimentalWarning bench/profile.ts [health|page|unknown-token|session] [requests] [connections]
 *
 * With KEEP_PROFILE=1 the .cpuprofile file is kept, and its path printed, for a closer look (Chrome's
 * DevTools open it).
 *
 * `page` asks for a seeded pending link, so it profiles the page a person sees; `session` logs in to
 * a seeded account once (the tests' cheap hash) and then profiles GET /session with its token.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../lib/crypto/passwords.ts';
import { runLoad } from './load.ts';
import { bearerFor, CHEAP_PARAMS, CHEAP_SCRYPT } from './no-hash.ts';
import { seedDatabase } from './seed.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const EMAIL = 'profile@example.com';
const PAGE_TOKEN = 'profile-page-token'.padEnd(43, 'p');
const PATHS = {
  health: { path: '/health', expect: [200] },
  page: { path: `/activate?token=${PAGE_TOKEN}`, expect: [200] },
  'unknown-token': { path: '/activate', method: 'POST' as const, body: JSON.stringify({ token: 'A'.repeat(43), password: PASSWORD }), expect: [400] },
  session: { path: '/session', expect: [200] },
};
const which = (process.argv[2] ?? 'unknown-token') as keyof typeof PATHS;
const amount = Number(process.argv[3] ?? 20_000);
// 4 by default; figure 3's 16 show how the answers of a turn leave together (functions/answers-together.ts).
const connections = Number(process.argv[4] ?? 4);
const spec = PATHS[which];
if (!spec) throw new Error(`path must be one of ${Object.keys(PATHS).join(', ')}`);

interface Profile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-profile-'));
const accountHash = await hashPassword(PASSWORD, CHEAP_PARAMS);
await seedDatabase({ path: join(dir, 'accounts.sqlite'), accounts: 1000, accountHash, named: [{ email: EMAIL, passwordHash: accountHash }], pendingTokens: [PAGE_TOKEN] });
const HIGH = '9999999/600';
const child = spawn(
  process.execPath,
  ['--disable-warning=ExperimentalWarning', '--cpu-prof', `--cpu-prof-dir=${dir}`, join(ROOT, 'functions/start.ts')],
  {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: join(dir, 'accounts.sqlite'),
      PUBLIC_URL: 'http://127.0.0.1',
      LIMIT_ACTIVATE_PER_CLIENT: HIGH,
      ...CHEAP_SCRYPT,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const port = await new Promise<number>((resolve, reject) => {
  let buffer = '';
  const listen = (chunk: string) => {
    buffer += chunk;
    const match = /"event":"server_started".*?"port":(\d+)/.exec(buffer);
    if (!match) return;
    // Drained from now on, not kept: searching an ever longer buffer of event lines slowed this
    // process until the pipe filled and the server waited on it.
    child.stdout!.off('data', listen).resume();
    resolve(Number(match[1]));
  };
  child.stdout!.setEncoding('utf8').on('data', listen);
  child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
});
const url = `http://127.0.0.1:${port}`;
const headers = which === 'session' ? await bearerFor(url, JSON.stringify({ email: EMAIL, password: PASSWORD })) : undefined;
const load = await runLoad({ url, connections, amount, ...spec, ...(headers ? { headers } : {}) });
await new Promise<void>((resolve) => {
  child.once('exit', () => resolve());
  child.kill('SIGTERM');
});

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
