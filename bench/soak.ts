/**
 * Soak: the real Node server under several hundred concurrent keep-alive connections that mix every
 * endpoint, for a bounded time and a bounded number of requests, on loopback. It passes when
 *   - no answer is a 5xx other than 503 (load shedding, which must carry Retry-After),
 *   - no request fails at the socket or times out,
 *   - the server's memory (RSS, sampled every second) levels off instead of climbing,
 *   - after the load the server is killed with SIGKILL and restarted on the same file, and every
 *     acknowledged write is there: each activation that got 200 logs in, each registration that
 *     got 202 (and was not activated) activates with its link and its own password.
 *
 *   node bench/soak.ts [--seconds 180] [--connections 300] [--max-requests 2000000] [--json]
 *
 * Password hashing runs with cheap scrypt parameters (the behaviour under test is the server's, not
 * scrypt's cost; `npm run bench` measures that). Exit code 0 = pass, 1 = fail.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NO_CLIENT_LIMITS } from './servers.ts';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '180' },
    connections: { type: 'string', default: '300' },
    'max-requests': { type: 'string', default: '2000000' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(args.seconds);
const CONNECTIONS = Number(args.connections);
const MAX_REQUESTS = Number(args['max-requests']);
const SERVER = fileURLToPath(new URL('../functions/server.ts', import.meta.url));
const FAST_SCRYPT = { SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1' };
// Every request comes from 127.0.0.1, so the per-client throttle would answer most of them 429:
// the soak is about durability and memory under load, so the throttle is off.
const REQUEST_TIMEOUT_MS = 30_000;

// ---- the server process ------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  port: number;
  exited: Promise<number | null>;
}

/** Activation links from the mail sink's lines on the server's stdout, by address. */
const links = new Map<string, string>();

async function startServer(databasePath: string): Promise<Server> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVER], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: databasePath, PUBLIC_URL: 'http://127.0.0.1', ...FAST_SCRYPT, ...NO_CLIENT_LIMITS },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const text of lines) {
        if (!text.startsWith('{')) continue;
        const line = JSON.parse(text) as Record<string, unknown>;
        if (line.event === 'server_started') resolve(Number(line.port));
        if (line.event === 'mail' && typeof line.link === 'string') links.set(String(line.to), new URL(line.link).searchParams.get('token')!);
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before starting`)));
  });
  return { child, port, exited };
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

// ---- HTTP ---------------------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });

interface Answer {
  status: number; // 0: the request failed at the socket or timed out
  retryAfter?: string;
  body: string;
}

function call(port: number, method: string, path: string, body?: unknown, type = 'application/json'): Promise<Answer> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = request(
      { host: '127.0.0.1', port, method, path, agent, timeout: REQUEST_TIMEOUT_MS, headers: payload === undefined ? {} : { 'content-type': type, 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: text }));
        res.on('error', () => resolve({ status: 0, body: '' }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, body: error.message }));
    req.end(payload);
  });
}

// ---- the load -----------------------------------------------------------------------------------

interface Stats {
  count: number;
  statuses: Record<string, number>;
  latencies: number[];
}
const stats = new Map<string, Stats>();
const problems: string[] = [];
let requests = 0;

function record(kind: string, answer: Answer, ms: number, expected: number[]): void {
  requests++;
  const s = stats.get(kind) ?? { count: 0, statuses: {}, latencies: [] };
  stats.set(kind, s);
  s.count++;
  s.statuses[answer.status] = (s.statuses[answer.status] ?? 0) + 1;
  if (s.latencies.length < 200_000) s.latencies.push(ms);
  const shed = answer.status === 503 && Number(answer.retryAfter) > 0;
  if (!expected.includes(answer.status) && !shed && problems.length < 50) {
    problems.push(`${kind}: ${answer.status} ${answer.body.slice(0, 200)}`);
  }
}

/** Writes the server acknowledged: these must all be there after the restart. */
const registered = new Map<string, string>(); // address -> password, from a 202
const activated = new Set<string>(); // address, from a 200

/** Active accounts made before the load, that only ever see wrong passwords. Not verified. */
const decoys: string[] = [];

async function makeDecoys(port: number, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const email = `decoy${i}@example.com`;
    await call(port, 'POST', '/register', { email, password: `decoy password number ${i} of the soak` });
    for (let waited = 0; !links.has(email); waited += 10) {
      if (waited > 10_000) throw new Error(`no activation mail for ${email}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const answer = await call(port, 'POST', '/activate', { token: links.get(email)!, password: `decoy password number ${i} of the soak` });
    if (answer.status !== 200) throw new Error(`decoy ${email} did not activate: ${answer.status}`);
    decoys.push(email);
  }
}

let serial = 0;
const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

async function virtualUser(port: number, until: number): Promise<void> {
  const pending: string[] = [];
  const active: string[] = [];
  const timed = async (kind: string, expected: number[], go: () => Promise<Answer>) => {
    const start = performance.now();
    const answer = await go();
    record(kind, answer, performance.now() - start, expected);
    // A well-behaved client waits as long as a shed request's Retry-After says.
    if (answer.status === 503 && Number(answer.retryAfter) > 0) await new Promise((resolve) => setTimeout(resolve, Number(answer.retryAfter) * 1000));
    return answer;
  };
  while (Date.now() < until && requests < MAX_REQUESTS) {
    const roll = Math.random();
    const ready = pending.filter((email) => links.has(email));
    if (roll < 0.3 || (roll < 0.55 && ready.length === 0)) {
      const n = ++serial;
      const email = `soak${n}@example.com`;
      const password = `soak password ${n} ${Math.random().toString(36).slice(2)}`;
      const answer = await timed('register', [202], () => call(port, 'POST', '/register', { email, password }));
      if (answer.status === 202) {
        registered.set(email, password);
        pending.push(email);
      }
    } else if (roll < 0.55) {
      const email = pick(ready)!;
      const token = links.get(email)!;
      if (Math.random() < 0.2) await timed('activate page (GET)', [200], () => call(port, 'GET', `/activate?token=${token}`));
      const answer = await timed('activate', [200], () => call(port, 'POST', '/activate', { token, password: registered.get(email)! }));
      if (answer.status === 200) {
        activated.add(email);
        pending.splice(pending.indexOf(email), 1);
        active.push(email);
      }
    } else if (roll < 0.8) {
      const email = pick(active);
      const which = Math.random();
      if (email && which < 0.7) await timed('login (right)', [200], () => call(port, 'POST', '/login', { email, password: registered.get(email)! }));
      // Wrong passwords go to decoy accounts: enough of them on one address earn it the failed-login
      // back-off (429), which would hide whether the soak's own accounts are there at the end.
      else if (email && which < 0.85) await timed('login (wrong)', [401, 429], () => call(port, 'POST', '/login', { email: pick(decoys)!, password: 'not the password at all' }));
      else await timed('login (unknown)', [401], () => call(port, 'POST', '/login', { email: `nobody${serial}@example.com`, password: 'whatever it is here' }));
    } else if (roll < 0.88) {
      const email = pick(pending) ?? `nobody${serial}@example.com`;
      await timed('resend-activation', [202], () => call(port, 'POST', '/resend-activation', { email }));
    } else if (roll < 0.95) {
      await timed('health', [200], () => call(port, 'GET', '/health'));
    } else if (Math.random() < 0.5) {
      await timed('bad request (422)', [422], () => call(port, 'POST', '/register', { email: 'not an address', password: 'x' }));
    } else {
      await timed('bad request (415)', [415], () => call(port, 'POST', '/login', 'email=a&password=b', 'text/plain'));
    }
  }
}

// ---- checks after the restart ---------------------------------------------------------------------

/** The address's link from the mail lines; if the kill came before its line was read, a new one. */
async function linkFor(port: number, email: string): Promise<string | undefined> {
  if (links.has(email)) return links.get(email);
  await call(port, 'POST', '/resend-activation', { email });
  for (let waited = 0; !links.has(email) && waited < 10_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  return links.get(email);
}

async function verify(port: number): Promise<{ checked: number; missing: string[] }> {
  const missing: string[] = [];
  const queue = [...registered.entries()];
  let checked = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      for (let item = queue.pop(); item; item = queue.pop()) {
        const [email, password] = item;
        if (activated.has(email)) {
          const answer = await call(port, 'POST', '/login', { email, password });
          if (answer.status !== 200) missing.push(`${email}: login ${answer.status}, wanted 200`);
        } else {
          // A registration still waiting: its link, with its own password, activates it.
          const token = await linkFor(port, email);
          const answer = token ? await call(port, 'POST', '/activate', { token, password }) : { status: 0 };
          if (answer.status !== 200) missing.push(`${email}: activate ${answer.status}, wanted 200`);
        }
        checked++;
      }
    }),
  );
  return { checked, missing };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-soak-'));
  const path = join(dir, 'accounts.sqlite');
  const server = await startServer(path);
  await makeDecoys(server.port, 20);
  const rss: Array<[number, number]> = [];
  const started = Date.now();
  const sampler = setInterval(() => rss.push([(Date.now() - started) / 1000, rssBytes(server.child.pid!)]), 1000);
  const until = started + SECONDS * 1000;
  await Promise.all(Array.from({ length: CONNECTIONS }, () => virtualUser(server.port, until)));
  const elapsed = (Date.now() - started) / 1000;
  clearInterval(sampler);
  agent.destroy();

  // Kill without warning: what was acknowledged must be on disk already, not in a final snapshot.
  server.child.kill('SIGKILL');
  await server.exited;
  const fileBytes = statSync(path).size + (statSync(`${path}.latchkey-journal`, { throwIfNoEntry: false })?.size ?? 0);
  const restarted = await startServer(path);
  const restartedAgentCheck = await verify(restarted.port);
  restarted.child.kill('SIGTERM');
  const stopCode = await restarted.exited;

  // Memory: after a warm-up (the first fifth), compare the second and the last quarter of the run.
  const steady = rss.filter(([t]) => t >= elapsed / 5).map(([, b]) => b);
  const quarter = Math.max(1, Math.floor(steady.length / 4));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const early = mean(steady.slice(quarter, 2 * quarter));
  const late = mean(steady.slice(-quarter));
  const growth = (late - early) / early;
  // sql.js holds the whole database in memory, so RSS may grow by what the data grows; anything
  // well past that (a leak per request) fails. 25 % over the steady state is far above the data.
  const memoryFlat = steady.length >= 4 && growth < 0.25;

  const endpoints = Object.fromEntries(
    [...stats.entries()].map(([kind, s]) => {
      const sorted = [...s.latencies].sort((a, b) => a - b);
      return [kind, { count: s.count, statuses: s.statuses, p50ms: Math.round(percentile(sorted, 50) * 10) / 10, p99ms: Math.round(percentile(sorted, 99) * 10) / 10 }];
    }),
  );
  const shed = [...stats.values()].reduce((n, s) => n + (s.statuses['503'] ?? 0), 0);
  const summary = {
    seconds: Math.round(elapsed),
    connections: CONNECTIONS,
    requests,
    requestsPerSecond: Math.round(requests / elapsed),
    shed503: shed,
    unexpected: problems,
    endpoints,
    rssMiB: { first: mib(rss[0]?.[1] ?? Number.NaN), steadyEarly: mib(early), steadyLate: mib(late), max: mib(Math.max(...rss.map(([, b]) => b))), growthPercent: Math.round(growth * 1000) / 10 },
    databaseMiB: mib(fileBytes),
    acknowledged: { registrations: registered.size, activations: activated.size },
    afterKillAndRestart: { checked: restartedAgentCheck.checked, missing: restartedAgentCheck.missing.slice(0, 20), missingCount: restartedAgentCheck.missing.length },
    restartedServerStoppedWith: stopCode,
  };
  const pass = problems.length === 0 && memoryFlat && restartedAgentCheck.missing.length === 0 && restartedAgentCheck.checked === registered.size && stopCode === 0;
  if (args.json) console.log(JSON.stringify({ pass, ...summary }));
  else {
    console.log(`soak: ${summary.requests} requests in ${summary.seconds} s over ${CONNECTIONS} connections (${summary.requestsPerSecond}/s), ${shed} shed with 503`);
    for (const [kind, e] of Object.entries(endpoints)) console.log(`  ${kind.padEnd(22)} ${String(e.count).padStart(8)}  p50 ${e.p50ms} ms  p99 ${e.p99ms} ms  ${JSON.stringify(e.statuses)}`);
    console.log(`  RSS MiB: first ${summary.rssMiB.first}, steady ${summary.rssMiB.steadyEarly} -> ${summary.rssMiB.steadyLate} (${summary.rssMiB.growthPercent} %), max ${summary.rssMiB.max}; database ${summary.databaseMiB} MiB`);
    console.log(`  acknowledged: ${registered.size} registrations, ${activated.size} activations; after SIGKILL + restart: ${restartedAgentCheck.checked} checked, ${restartedAgentCheck.missing.length} missing`);
    for (const p of problems) console.log(`  unexpected: ${p}`);
    for (const m of restartedAgentCheck.missing.slice(0, 20)) console.log(`  missing: ${m}`);
    console.log(pass ? 'soak: PASS' : 'soak: FAIL');
  }
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
  process.exitCode = pass ? 0 : 1;
}

await main();
