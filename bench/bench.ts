/**
 * `npm run bench`: how fast Latchkey is, against the physical limit and a bare Hono server.
 *
 *   npm run bench                      full run (about 10 minutes on 2 cores)
 *   npm run bench -- --quick           short smoke run: every figure, few requests
 *   npm run bench -- --out FILE.json   also write the figures as JSON
 *   npm run bench -- --chart FILE.svg  also write the login chart as SVG
 *   npm run bench -- --no-wrangler     leave out figure 6 (wrangler dev)
 *
 * Figure 7 (lockout) is a simulation with a virtual clock, not a timing: see bench/lockout.ts.
 * Figure 8 (database cost per flow) is a count, not a timing: see bench/database-cost.ts.
 * Figure 9 (a slow SMTP server against a fast one) runs two servers of its own: bench/slow-mail.ts.
 * Figure 10 (a database far away: every trip delayed) runs the app in process: bench/distance.ts.
 *   npm run bench -- --soak            the soak test instead (bench/soak.ts; its options follow)
 *
 * Every figure is a ratio to a reference measured in the same run, close in time to it, because
 * the machine is shared and absolute numbers drift. Servers run as child processes on 127.0.0.1
 * at ports the system picks, on temporary files that are removed at the end.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_HASH_MAX_QUEUED } from '../lib/config/config.ts';
import { DEFAULT_SCRYPT, hashPassword, scryptMemoryBytes, type ScryptParams } from '../lib/crypto/passwords.ts';
import { NIST_FAILURE_CEILING } from '../lib/policy/login-backoff.ts';
import { measureHashRate, type HashRate } from './hash-limit.ts';
import { lockoutFigures } from './lockout.ts';
import { watchPool } from '../scripts/support/pool-threads.ts';
import { databaseCostFigures } from './database-cost.ts';
import { SLOW_SMTP_MS, slowMailFigures } from './slow-mail.ts';
import { distanceFigures } from './distance.ts';
import { mergeLoads, runLoad, type LoadResult, type LoadSpec } from './load.ts';
import { bearerFor, CHEAP_PARAMS, CHEAP_SCRYPT, noHashFigures, type NoHash } from './no-hash.ts';
import { loginBody, loginExpect, PASSWORD, SEEDED_ACCOUNTS, timingFigures, type Branch, type Timing } from './login-timing.ts';
import { fmt, loginChart, markdownTable, mib, ms, perSecond, type Row } from './report.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { seedDatabase, seedSql, type Seeded } from './seed.ts';
import { startBareHono, startLatchkeyNode, startWranglerDev, wrangler, type Running } from './servers.ts';
import { hashCapacity, hashSlots } from '../lib/crypto/threadpool.ts';

const { values: options } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string' },
    chart: { type: 'string' },
    'no-wrangler': { type: 'boolean', default: false },
  },
});
const quick = options.quick!;

const CORES = availableParallelism();
const SCRYPT: ScryptParams = DEFAULT_SCRYPT;
// What the server runs at once by default (functions/server.ts, lib/crypto/threadpool.ts).
const SLOTS = hashSlots(hashCapacity({ scrypt: SCRYPT, hashMaxInFlight: undefined }), process.env.UV_THREADPOOL_SIZE);
const LOGIN_EMAIL = 'login@bench.example';
const CONCURRENCY = [1, 2 * CORES, 64];
const OVERLOAD_CONNECTIONS = 3 * DEFAULT_HASH_MAX_QUEUED;

// Loads are cut into rounds, each next to a measurement of its reference, and the rounds added up:
// a busy moment on the shared machine then falls on the figure and its reference alike.
const PLAN = quick
  ? { rounds: 1, limitSeconds: 0.5, perConnection: { 1: 4, [2 * CORES]: 3, 64: 1 } as Record<number, number>, timingRounds: 3, noHashSeconds: 0.5, noHashConnections: 16, writes: 60, writeRounds: 1, sizes: [1_000, 10_000, 100_000], overload: 400 }
  : { rounds: 4, limitSeconds: 1.5, perConnection: { 1: 6, [2 * CORES]: 10, 64: 1 } as Record<number, number>, timingRounds: 15, noHashSeconds: 2, noHashConnections: 16, writes: 150, writeRounds: 3, sizes: [1_000, 10_000, 100_000], overload: 2000 };

const TARGET = { loginRatio: 0.9, p99PerHash: 3, noHashRatio: 0.5, writeGrowth: 2, overloadRss: 1.25, slowMail: 1.1, twoTripFloor: 1.1 };

const log = (message: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const temp = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
const started: Running[] = [];
async function start<R extends Running>(server: Promise<R>): Promise<R> {
  const s = await server;
  started.push(s);
  return s;
}
async function stop(server: Running): Promise<void> {
  await server.stop();
  started.splice(started.indexOf(server), 1);
}
async function cleanUp() {
  await Promise.all(started.map((s) => s.stop()));
  rmSync(temp, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanUp().then(() => process.exit(130)));

function check(result: LoadResult, what: string): LoadResult {
  if (result.unexpected > 0) log(`warning: ${what}: ${result.unexpected} unexpected answers ${JSON.stringify(result.statuses)}`);
  return result;
}

async function load(spec: LoadSpec, what: string): Promise<LoadResult> {
  return check(await runLoad(spec), what);
}


/** Several measurements of the limit as one: all their hashes over all their time. */
function combineRates(rates: HashRate[]): HashRate {
  const hashes = rates.reduce((n, r) => n + r.hashes, 0);
  const seconds = rates.reduce((t, r) => t + r.seconds, 0);
  return { concurrency: rates[0]!.concurrency, hashes, seconds, perSecond: hashes / seconds, meanMs: rates.reduce((t, r) => t + r.meanMs * r.hashes, 0) / hashes };
}

/**
 * The reference for logins: the hash-bound limit, SLOTS hashes at once as the Node server runs
 * them; for wrangler dev, one at a time, because an isolate hashes on its one thread.
 */
type Reference = 'all-cores' | 'one-thread';
const referenceNow = (reference: Reference) => measureHashRate(SCRYPT, reference === 'all-cores' ? SLOTS : 1, PLAN.limitSeconds);

interface LoginRun {
  connections: number;
  result: LoadResult;
  limit: HashRate;
}

interface LoginFigures {
  branch: string;
  reference: Reference;
  runs: LoginRun[];
}


/** Load in rounds, each round after a measurement of the reference, and one more at the end. */
async function interleaved(reference: Reference, rounds: number, round: () => Promise<LoadResult>): Promise<{ result: LoadResult; limit: HashRate }> {
  const limits: HashRate[] = [];
  const results: LoadResult[] = [];
  for (let r = 0; r < rounds; r++) {
    limits.push(await referenceNow(reference));
    results.push(await round());
  }
  limits.push(await referenceNow(reference));
  return { result: mergeLoads(results), limit: combineRates(limits) };
}

/** Logins of one branch at each concurrency, each next to its own measurement of the limit. */
async function loginFigures(
  server: Running,
  branch: Branch,
  reference: Reference,
  around?: (connections: number, phase: 'before' | 'after') => void,
): Promise<LoginFigures> {
  const runs: LoginRun[] = [];
  for (const connections of CONCURRENCY) {
    log(`${server.name}: login (${branch}) at ${connections} connections`);
    around?.(connections, 'before');
    const { result, limit } = await interleaved(reference, PLAN.rounds, () =>
      load(
        { url: server.url, path: '/login', method: 'POST', connections, amount: connections * PLAN.perConnection[connections]!, nextBody: loginBody[branch], expect: loginExpect[branch] },
        `${server.name} login ${branch} c=${connections}`,
      ),
    );
    around?.(connections, 'after');
    runs.push({ connections, result, limit });
  }
  return { branch, reference, runs };
}

/** Figures 2's and 6's timing rows for one server (bench/login-timing.ts). */
async function timingFigure(server: Running): Promise<Timing> {
  log(`${server.name}: login timing by branch, interleaved`);
  const [timing] = await timingFigures([server.url], PLAN.timingRounds, (message) => log(`warning: ${message}`));
  return timing!;
}

/** Every path once in a while before measuring, so that no figure pays for compiling code. */
async function warmUp(server: Running, pageToken: string) {
  for (const branch of Object.keys(loginBody) as Branch[]) {
    await runLoad({ url: server.url, path: '/login', method: 'POST', connections: 2, amount: 4, nextBody: loginBody[branch], expect: loginExpect[branch] });
  }
  await runLoad({ url: server.url, path: '/health', connections: 4, amount: 1000, expect: [200] });
  await runLoad({ url: server.url, path: `/activate?token=${pageToken}`, connections: 4, amount: 1000, expect: [200] });
  await runLoad({ url: server.url, path: '/activate', method: 'POST', connections: 4, amount: 1000, body: JSON.stringify({ token: 'A'.repeat(43), password: PASSWORD }), expect: [400] });
}

/** Figure 3 (bench/no-hash.ts), with this run's plan; one login for the session token. */
async function noHashRun(server: Running, hello: Running, pageToken: string): Promise<NoHash> {
  log(`${server.name}: requests that hash nothing, against bare Hono`);
  const bearer = await bearerFor(server.url, loginBody.right());
  return noHashFigures(server, hello, bearer, {
    rounds: PLAN.rounds,
    connections: PLAN.noHashConnections,
    seconds: PLAN.noHashSeconds,
    pageToken,
    password: PASSWORD,
    load,
  });
}

interface WriteCost {
  accounts: number;
  seeded: Seeded;
  register: { writes: number; seconds: number; p99: number; cpuMicros: number | null };
  activate: { writes: number; seconds: number; p99: number; cpuMicros: number | null };
  journalBytesPerWrite: number;
  /** Time per write: the server's 1/throughput at 2×cores connections. */
  registerMs: number;
  activateMs: number;
  /** The snapshot's share of each write: snapshot time × (journal bytes per write ÷ snapshot threshold). */
  snapshotShareMs: number;
}

async function writeCostFigures(): Promise<WriteCost[]> {
  const connections = 2 * CORES;
  const perRound = PLAN.writes;
  // Figure 4 is about the database, not the hash: the tests' cheap setting.
  const cheapHash = await hashPassword(PASSWORD, CHEAP_PARAMS);
  const setups = [];
  for (const accounts of PLAN.sizes) {
    const path = join(temp, `writes-${accounts}.sqlite`);
    const tokens = Array.from({ length: perRound * PLAN.writeRounds + 20 }, (_, i) => `bench-activation-token-${accounts}-${i}`.padEnd(43, 'x'));
    log(`write cost: seeding ${accounts} accounts`);
    const seeded = await seedDatabase({ path, accounts, accountHash: cheapHash, pendingTokens: tokens });
    const server = await start(startLatchkeyNode(path, CHEAP_SCRYPT));
    setups.push({ accounts, path, tokens, seeded, server, next: 0, registered: 0, register: [] as LoadResult[], activate: [] as LoadResult[] });
  }
  // The sizes take turns, round after round, so that a busy moment on the shared machine falls
  // on all of them alike rather than on one.
  for (let round = 0; round < PLAN.writeRounds; round++) {
    for (const s of setups) {
      log(`write cost: round ${round + 1}/${PLAN.writeRounds}, ${s.accounts} accounts`);
      s.register.push(
        await load(
          {
            url: s.server.url,
            path: '/register',
            method: 'POST',
            connections,
            amount: perRound,
            nextBody: () => JSON.stringify({ email: `w${round}-${s.registered++}@writes.example`, password: PASSWORD }),
            expect: [202],
            serverCpu: s.server.cpuSeconds,
          },
          `register with ${s.accounts} accounts`,
        ),
      );
      s.activate.push(
        await load(
          {
            url: s.server.url,
            path: '/activate',
            method: 'POST',
            connections,
            amount: perRound,
            nextBody: () => JSON.stringify({ token: s.tokens[s.next++], password: PASSWORD }),
            expect: [200],
            serverCpu: s.server.cpuSeconds,
          },
          `activate with ${s.accounts} accounts`,
        ),
      );
    }
  }
  const out: WriteCost[] = [];
  for (const s of setups) {
    // Read before stopping: a clean stop snapshots and empties the journal.
    const journalBytes = statSync(`${s.path}.latchkey-journal`).size;
    await stop(s.server);
    const sum = (rs: LoadResult[]) => {
      const merged = mergeLoads(rs);
      return { writes: merged.requests, seconds: merged.seconds, p99: merged.p99, cpuMicros: merged.cpuMicros };
    };
    const register = sum(s.register);
    const activate = sum(s.activate);
    const journalBytesPerWrite = journalBytes / (register.writes + activate.writes);
    const threshold = Math.max(4 * 1024 * 1024, s.seeded.snapshotBytes);
    out.push({
      accounts: s.accounts,
      seeded: s.seeded,
      register,
      activate,
      journalBytesPerWrite,
      registerMs: (register.seconds * 1000) / register.writes,
      activateMs: (activate.seconds * 1000) / activate.writes,
      snapshotShareMs: (s.seeded.snapshotMs * journalBytesPerWrite) / threshold,
    });
  }
  return out;
}

async function main() {
  const began = Date.now();
  const machine = {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: CORES,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
  };
  log(`${machine.cores} cores (${machine.cpu}), node ${machine.node}, ${quick ? 'quick' : 'full'} run`);
  const loginHash = await hashPassword(PASSWORD, SCRYPT);
  const pageToken = BENCH_PAGE_TOKEN;

  // Figures 1-3 and 5: the Node server with the configured (production) scrypt parameters.
  const nodeDb = join(temp, 'login.sqlite');
  await seedDatabase({ path: nodeDb, accounts: SEEDED_ACCOUNTS, accountHash: loginHash, named: [{ email: LOGIN_EMAIL, passwordHash: loginHash }], pendingTokens: [pageToken] });
  const hello = await start(startBareHono());
  // The activation endpoints keep their per-client counter (a limit too high to refuse): it is a
  // write, with its fsync, on every request in production, so figure 3 must pay for it too.
  const node = await start(startLatchkeyNode(nodeDb, { LIMIT_ACTIVATE_PER_CLIENT: '9999999/600' }));
  await warmUp(node, pageToken);
  const idleRssKiB = node.rssKiB();

  log('hash-bound limit');
  // One hash alone and SLOTS at once, taking turns, so both see the same moments of the machine.
  const singles: HashRate[] = [];
  const alls: HashRate[] = [];
  for (let round = 0; round < PLAN.rounds + 1; round++) {
    singles.push(await referenceNow('one-thread'));
    alls.push(await referenceNow('all-cores'));
  }
  const single = combineRates(singles);
  const allCores = combineRates(alls);

  const nodeNoHash = await noHashRun(node, hello, pageToken);

  const peaks: Record<string, number | null> = {};
  const nodeLogins: LoginFigures[] = [];
  // Issue 15 §1: how many hashes the server really runs at once under the 64-connection logins,
  // counted from its pool threads in /proc (not timed), against its cores.
  let pool: ReturnType<typeof watchPool> | undefined;
  let hashing: { most: number; threads: number } | undefined;
  for (const branch of ['right', 'wrong', 'unknown'] as Branch[]) {
    nodeLogins.push(
      await loginFigures(node, branch, 'all-cores', (connections, phase) => {
        if (branch !== 'right' || connections !== 64) return;
        if (phase === 'before') {
          node.resetPeak();
          pool = watchPool(node.pid, 5);
        } else peaks.logins64 = node.peakRssKiB();
      }),
    );
    if (pool) hashing = await pool.stop();
    pool = undefined;
  }
  const nodeTiming = await timingFigure(node);

  log('node: register at 2×cores connections (production hash)');
  let registered = 0;
  const register = await interleaved('all-cores', PLAN.rounds, () =>
    load(
      {
        url: node.url,
        path: '/register',
        method: 'POST',
        connections: 2 * CORES,
        amount: 2 * CORES * PLAN.perConnection[2 * CORES]!,
        nextBody: () => JSON.stringify({ email: `r${registered++}@register.example`, password: PASSWORD }),
        expect: [202],
      },
      'register',
    ),
  );

  log(`node: overload, ${OVERLOAD_CONNECTIONS} connections against a queue of ${DEFAULT_HASH_MAX_QUEUED}`);
  node.resetPeak();
  const overload = await load(
    { url: node.url, path: '/login', method: 'POST', connections: OVERLOAD_CONNECTIONS, amount: PLAN.overload, nextBody: loginBody.right, expect: [200, 503] },
    'overload',
  );
  peaks.overload = node.peakRssKiB();
  await stop(node);

  // Figure 4: cost per durable write against the size of the database.
  const writes = await writeCostFigures();

  // Figure 6: wrangler dev (workerd + local D1), same requests.
  type Edge = { logins: LoginFigures[]; timing: Timing; noHash: NoHash };
  let edge: Edge | { skipped: string } = { skipped: 'left out with --no-wrangler' };
  if (!options['no-wrangler']) {
    try {
      const persist = join(temp, 'wrangler');
      log('wrangler: applying migrations to local D1');
      await wrangler(['d1', 'migrations', 'apply', 'DB', '--local', '--persist-to', persist]);
      const seedFile = join(temp, 'seed.sql');
      writeFileSync(seedFile, seedSql({ accounts: SEEDED_ACCOUNTS, accountHash: loginHash, named: [{ email: LOGIN_EMAIL, passwordHash: loginHash }], pendingTokens: [pageToken] }));
      await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persist, '--file', seedFile]);
      log('wrangler: starting wrangler dev');
      const dev = await start(startWranglerDev(persist));
      await warmUp(dev, pageToken);
      const noHash = await noHashRun(dev, hello, pageToken);
      const logins: LoginFigures[] = [];
      for (const branch of ['right', 'wrong', 'unknown'] as Branch[]) logins.push(await loginFigures(dev, branch, 'one-thread'));
      const timing = await timingFigure(dev);
      await stop(dev);
      edge = { logins, timing, noHash };
    } catch (error) {
      edge = { skipped: `wrangler dev could not be measured: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}` };
      log(edge.skipped);
    }
  }
  await stop(hello);

  // Figure 7: the lockout attack of issue 13 §3, simulated over days of virtual time.
  const lockoutPlan = quick ? { days: 5, accounts: 3 } : { days: 14, accounts: 10 };
  log(`lockout: simulating ${lockoutPlan.days} days of attack on ${lockoutPlan.accounts} accounts, with and without device tokens`);
  const lockout = {
    device: await lockoutFigures(lockoutPlan.days, lockoutPlan.accounts, true),
    none: await lockoutFigures(lockoutPlan.days, lockoutPlan.accounts, false),
  };

  // Figure 8: what each flow costs the database (issue 15 §3), counted, and one D1 primary's budget.
  log('database cost per flow: counting statements in process');
  const databaseCost = await databaseCostFigures();

  // Figure 9: registrations while the SMTP server takes two seconds a mail, against a fast one.
  log(`slow mail: registrations with a fast and a ${SLOW_SMTP_MS} ms SMTP server, interleaved`);
  const slowMail = await slowMailFigures(PLAN.rounds, quick ? 50 : 200);

  // Figure 10: a person far from the database: every trip held back 0, 20, 100 ms, in process.
  log('distance: login and registration with every database trip delayed 0, 20, 100 ms');
  const distance = await distanceFigures(quick ? 3 : 15);

  // ---- The table -------------------------------------------------------------------------------
  const rows: Row[] = [];
  const scryptText = `scrypt N=2^${SCRYPT.logN}, r=${SCRYPT.r}, p=${SCRYPT.p}`;
  rows.push({
    figure: '1',
    what: `Hash-bound limit: ${scryptText}, ${SLOTS} at once`,
    measured: `${perSecond(allCores.perSecond)} (${ms(allCores.meanMs)} each)`,
    reference: `${CORES} cores × 1 hash alone (${ms(single.meanMs)}) = ${perSecond((CORES * 1000) / single.meanMs)}`,
    ratio: allCores.perSecond / ((CORES * 1000) / single.meanMs),
    target: 'uses every core (≈1)',
    met: null,
  });

  if (hashing) {
    // The slots are the server's own word (its server_started line); the pool count is what /proc
    // showed, which includes the pool's other work (a thread between two jobs counts as running).
    const slots = node.started.hashSlots;
    rows.push({
      figure: '1',
      what: 'Node server (npm start): hashes in flight against cores, under 64 login connections',
      measured: `${slots} hash slots, ${node.started.threadpool} pool threads; at most ${hashing.most} pool threads seen running at once`,
      reference: `${CORES} cores`,
      ratio: slots / CORES,
      target: 'one hash per core, all running (1)',
      met: slots >= CORES && hashing.most >= slots,
    });
  }

  const limitText = (f: LoginFigures, run: LoginRun) =>
    f.reference === 'all-cores' ? `limit ${perSecond(run.limit.perSecond)}` : `one-thread limit ${perSecond(run.limit.perSecond)}`;
  const loginRows = (figures: LoginFigures[], who: string, figure: string) => {
    for (const f of figures) {
      for (const run of f.runs) {
        const { connections, result, limit } = run;
        const ratio = result.rps / limit.perSecond;
        const atTarget = connections === 2 * CORES;
        rows.push({
          figure,
          // A right password's login creates its session in the same batch (issue 11).
          what: `${who} login, ${f.branch} ${f.branch === 'unknown' ? 'address' : f.branch === 'right' ? 'password + new session' : 'password'}, ${connections} conn.`,
          measured: `${perSecond(result.rps)}, p50 ${ms(result.p50)}, p99 ${ms(result.p99)}${result.unexpected ? `, ${result.unexpected} unexpected` : ''}`,
          reference: limitText(f, run),
          ratio,
          target: atTarget ? `≥ ${TARGET.loginRatio}` : '',
          met: atTarget ? ratio >= TARGET.loginRatio : null,
        });
        if (atTarget) {
          // One isolate hashes one request at a time: c connections wait about c hashes there.
          const judged = f.reference === 'all-cores';
          rows.push({
            figure,
            what: `${who} login, ${f.branch}, ${connections} conn.: p99 ÷ hash time`,
            measured: `p99 ${ms(result.p99)}`,
            reference: `one hash, ${limit.concurrency} at once: ${ms(limit.meanMs)}`,
            ratio: result.p99 / limit.meanMs,
            target: judged ? `≤ ${TARGET.p99PerHash}` : `(${connections} wait in turn)`,
            met: judged ? result.p99 / limit.meanMs <= TARGET.p99PerHash : null,
          });
        }
      }
    }
  };
  const timingRows = (timing: Timing, who: string, figure: string) => {
    for (const branch of ['wrong', 'unknown'] as const) {
      const ratio = timing[branch].p50 / timing.right.p50;
      rows.push({
        figure,
        what: `${who} timing: ${branch} ÷ right password, median, 1 at a time, interleaved`,
        measured: ms(timing[branch].p50),
        reference: ms(timing.right.p50),
        ratio,
        target: '0.9 – 1.1',
        met: ratio >= 0.9 && ratio <= 1.1,
      });
    }
  };
  loginRows(nodeLogins, 'Node', '2');
  timingRows(nodeTiming, 'Node', '2');

  const reg = register.result;
  rows.push({
    figure: '2',
    what: `Node register, ${2 * CORES} conn.`,
    measured: `${perSecond(reg.rps)}, p50 ${ms(reg.p50)}, p99 ${ms(reg.p99)}${reg.unexpected ? `, ${reg.unexpected} unexpected` : ''}`,
    reference: `limit ${perSecond(register.limit.perSecond)}`,
    ratio: reg.rps / register.limit.perSecond,
    target: `≥ ${TARGET.loginRatio}`,
    met: reg.rps / register.limit.perSecond >= TARGET.loginRatio,
  });
  rows.push({
    figure: '2',
    what: `Node register, ${2 * CORES} conn.: p99 ÷ hash time`,
    measured: `p99 ${ms(reg.p99)}`,
    reference: `one hash, ${SLOTS} at once: ${ms(register.limit.meanMs)}`,
    ratio: reg.p99 / register.limit.meanMs,
    target: `≤ ${TARGET.p99PerHash}`,
    met: reg.p99 / register.limit.meanMs <= TARGET.p99PerHash,
  });

  // What bare Hono does of the same request, where it does more than its hello: the floor under a row.
  const floorOf = (n: NoHash, r: LoadResult) => {
    const floor: [string, LoadResult] | null = r === n.invalid ? ['its own POST of this body', n.helloPost] : r === n.page ? ['the same page', n.helloPage] : null;
    return floor ? `; ${floor[0]} ${perSecond(floor[1].rps)} (${fmt(floor[1].rps / n.hello.rps, 2)})` : '';
  };
  const noHashRows = (n: NoHash, who: string, figure: string) => {
    for (const [what, r] of [
      ['GET /health', n.health],
      ['GET /session', n.session],
      ['GET /activate page', n.page],
      ['POST /activate, unknown token', n.invalid],
    ] as const) {
      const cpu = r.cpuMicros !== null && n.hello.cpuMicros !== null ? `; server CPU ${fmt(r.cpuMicros, 0)} µs/req vs ${fmt(n.hello.cpuMicros, 0)}` : '';
      rows.push({
        figure,
        what: `${who} ${what}, ${PLAN.noHashConnections} conn.`,
        measured: `${perSecond(r.rps)}, p99 ${ms(r.p99)}${cpu}${r.unexpected ? `, ${r.unexpected} unexpected` : ''}`,
        reference: `bare Hono hello ${perSecond(n.hello.rps)}${floorOf(n, r)}`,
        ratio: r.rps / n.hello.rps,
        target: `≥ ${TARGET.noHashRatio}`,
        met: r.rps / n.hello.rps >= TARGET.noHashRatio,
      });
    }
  };
  noHashRows(nodeNoHash, 'Node', '3');

  const base = writes[0]!;
  for (const w of writes) {
    for (const kind of ['register', 'activate'] as const) {
      const cost = (x: WriteCost) => (kind === 'register' ? x.registerMs : x.activateMs) + x.snapshotShareMs;
      const isLargest = w === writes.at(-1);
      rows.push({
        figure: '4',
        what: `${kind === 'register' ? 'Register' : 'Activate'}, ${w.accounts.toLocaleString('en')} accounts (cheap hash ln=4,r=8,p=1)`,
        measured: `${ms(cost(w))} per write (snapshot share ${fmt(w.snapshotShareMs, 3)} ms), p99 ${ms((kind === 'register' ? w.register : w.activate).p99)}, server CPU ${fmt((kind === 'register' ? w.register : w.activate).cpuMicros ?? NaN, 0)} µs`,
        reference: `${ms(cost(base))} at ${base.accounts.toLocaleString('en')}`,
        ratio: cost(w) / cost(base),
        target: isLargest ? `≤ ${TARGET.writeGrowth}` : '',
        met: isLargest ? cost(w) / cost(base) <= TARGET.writeGrowth : null,
      });
    }
  }

  const hashMemoryKiB = (SLOTS * scryptMemoryBytes(SCRYPT)) / 1024;
  rows.push({
    figure: '5',
    what: 'Node peak RSS, 64 concurrent logins',
    measured: mib(peaks.logins64 ?? null),
    reference: `idle ${mib(idleRssKiB)} + ${SLOTS} hashes × ${fmt(scryptMemoryBytes(SCRYPT) / 2 ** 20, 0)} MiB`,
    ratio: peaks.logins64 && idleRssKiB ? peaks.logins64 / (idleRssKiB + hashMemoryKiB) : null,
    target: '',
    met: null,
  });
  const overloadShed = overload.statuses['503'] ?? 0;
  rows.push({
    figure: '5',
    what: `Node overload: ${OVERLOAD_CONNECTIONS} conn., queue ${DEFAULT_HASH_MAX_QUEUED}: peak RSS`,
    measured: `${mib(peaks.overload ?? null)}; ${overloadShed} of ${overload.requests} answered 503${overload.unexpected ? `, ${overload.unexpected} unexpected` : ''}`,
    reference: `at 64 conn. ${mib(peaks.logins64 ?? null)}`,
    ratio: peaks.overload && peaks.logins64 ? peaks.overload / peaks.logins64 : null,
    target: `≤ ${TARGET.overloadRss}, some 503`,
    met: peaks.overload && peaks.logins64 ? peaks.overload / peaks.logins64 <= TARGET.overloadRss && overloadShed > 0 : null,
  });

  if ('logins' in edge) {
    loginRows(edge.logins, 'wrangler dev', '6');
    timingRows(edge.timing, 'wrangler dev', '6');
    noHashRows(edge.noHash, 'wrangler dev', '6');
    const edgeRight = edge.logins[0]!;
    const nodeRight = nodeLogins[0]!;
    for (const i of [0, 1]) {
      const e = edgeRight.runs[i]!;
      const n = nodeRight.runs[i]!;
      rows.push({
        figure: '6',
        what: `wrangler dev ÷ Node, right-password logins, ${CONCURRENCY[i]} conn.`,
        measured: perSecond(e.result.rps),
        reference: `Node ${perSecond(n.result.rps)}`,
        ratio: e.result.rps / n.result.rps,
        target: '',
        met: null,
      });
    }
    rows.push({
      figure: '6',
      what: 'wrangler dev: time per login, 1 conn. (≈ Workers CPU per login)',
      measured: `p50 ${ms(edgeRight.runs[0]!.result.p50)}`,
      reference: `one hash alone in Node, same moments: ${ms(edgeRight.runs[0]!.limit.meanMs)}`,
      ratio: edgeRight.runs[0]!.result.p50 / edgeRight.runs[0]!.limit.meanMs,
      target: '',
      met: null,
    });
  } else {
    rows.push({ figure: '6', what: 'wrangler dev', measured: edge.skipped, reference: '', ratio: null, target: '', met: null });
  }

  {
    const { device, none } = lockout;
    const simulated = `simulated: in-process app, virtual clock, ${device.days} days, ${device.accounts} accounts, one attacker guessing each the moment its back-off ends, also presenting ${device.hoarded} device tokens per account hoarded before the owner's reset`;
    rows.push({
      figure: '7',
      what: `Lockout (${simulated}): owner's right-password logins from a known device`,
      measured: `${device.ownerOk} of ${device.ownerAttempts} succeeded`,
      reference: `without a device token (as before): ${none.ownerOk} of ${none.ownerAttempts}`,
      ratio: device.ownerOk / device.ownerAttempts,
      target: '≥ 0.99',
      met: device.ownerOk / device.ownerAttempts >= 0.99,
    });
    rows.push({
      figure: '7',
      what: "Lockout (same simulation): the attacker's failed guesses per account",
      measured: `at most ${device.mostInARow} in a row, ${device.mostPerDay} in any 24 h (the back-off allows ${device.allowedPerDay}); ${device.attackerGuesses} in all, ${device.hoardedTokenGuesses} of them presenting a hoarded token`,
      reference: `NIST SP 800-63B: at most ${NIST_FAILURE_CEILING} in a row (without device tokens: ${none.mostInARow} in a row, ${none.mostPerDay} in 24 h)`,
      ratio: device.mostInARow / NIST_FAILURE_CEILING,
      target: '≤ 1',
      met: device.mostInARow <= NIST_FAILURE_CEILING && device.mostPerDay <= device.allowedPerDay,
    });
  }

  for (const f of databaseCost) {
    rows.push({
      figure: '8',
      what: `Database cost: ${f.flow} (${f.status})`,
      measured: `${f.trips} trips, ${f.statements} statements, ${f.writes} writes, ${f.commits} commits`,
      reference: `one D1 primary at 1 ms per trip: ${Math.floor(1000 / f.trips)}/s of this flow (docs/scale.md)`,
      ratio: null,
      target: '',
      met: null,
    });
  }

  rows.push({
    figure: '9',
    what: `Register p50, 4 conn., SMTP server taking ${SLOW_SMTP_MS} ms a mail (cheap hash)`,
    measured: `p50 ${ms(slowMail.slow.p50)}, p99 ${ms(slowMail.slow.p99)}${slowMail.slow.unexpected ? `, ${slowMail.slow.unexpected} unexpected` : ''}`,
    reference: `fast SMTP server, same rounds: p50 ${ms(slowMail.fast.p50)}`,
    ratio: slowMail.slow.p50 / slowMail.fast.p50,
    target: `≤ ${TARGET.slowMail}`,
    met: slowMail.slow.p50 / slowMail.fast.p50 <= TARGET.slowMail && slowMail.slow.unexpected === 0,
  });

  for (const d of distance.filter((f) => f.delayMs > 0)) {
    const floor = d.nearP50 + 2 * d.delayMs;
    rows.push({
      figure: '10',
      what: `${d.flow}, every trip ${d.delayMs} ms away (production scrypt, 1 at a time)`,
      measured: `p50 ${ms(d.p50)}, ${d.trips} trips (≈ ${ms(d.nearP50 + d.trips * d.delayMs)} expected from them)`,
      reference: `two-trip floor: p50 near (${ms(d.nearP50)}) + 2 × ${d.delayMs} ms = ${ms(floor)}`,
      ratio: d.p50 / floor,
      target: `≤ ${TARGET.twoTripFloor} (issue 27)`,
      met: d.p50 / floor <= TARGET.twoTripFloor,
    });
  }

  const table = markdownTable(rows);
  const missed = rows.filter((r) => r.met === false);
  const summary = missed.length
    ? `Targets MISSED (${missed.length}):\n${missed.map((r) => `- ${r.what}: ratio ${fmt(r.ratio ?? NaN)}, target ${r.target}`).join('\n')}`
    : 'All targets met.';
  const minutes = (Date.now() - began) / 60_000;
  process.stdout.write(`\nLatchkey benchmark (${quick ? 'quick' : 'full'} run, ${fmt(minutes, 1)} min) on ${machine.cores} cores, ${machine.cpu}, node ${machine.node}\n\n${table}\n\n${summary}\n`);

  const chartGroups = CONCURRENCY.map((c) => `${c} conn.`);
  const series = [
    ...nodeLogins.map((f) => ({ name: `Node, ${f.branch}`, values: f.runs.map((r) => r.result.rps / r.limit.perSecond) })),
    ...('logins' in edge ? edge.logins.map((f) => ({ name: `wrangler dev, ${f.branch} (1 thread)`, values: f.runs.map((r) => r.result.rps / r.limit.perSecond) })) : []),
  ];
  const chart = loginChart(`Login throughput ÷ hash-bound limit (${scryptText}, ${CORES} cores)`, chartGroups, series, TARGET.loginRatio);
  if (options.chart) writeFileSync(options.chart, chart);
  if (options.out) {
    const figures = {
      machine,
      run: quick ? 'quick' : 'full',
      minutes,
      scrypt: SCRYPT,
      hashSlots: SLOTS,
      hashMaxQueued: DEFAULT_HASH_MAX_QUEUED,
      limit: { single, allCores },
      node: { noHash: nodeNoHash, logins: nodeLogins, timing: nodeTiming, register, memory: { idleRssKiB, peaks, overload } },
      writes,
      wrangler: edge,
      lockout,
      databaseCost,
      distance,
      rows,
      missed: missed.map((r) => r.what),
    };
    writeFileSync(options.out, `${JSON.stringify(figures, null, 2)}\n`);
  }
}

try {
  await main();
} finally {
  await cleanUp();
}
