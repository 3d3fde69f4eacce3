/**
 * How alike the branches of register, login, forgot-password, resend and change-email are in time, with the
 * production scrypt parameters, in process on Node over an in-memory sql.js database (no network,
 * no throttling). Prints the median per branch and the slowest/fastest median ratio per endpoint;
 * the target for each is 0.9–1.1 (a ratio of slowest to fastest, so at most 1.1).
 *
 *   node --disable-warning=ExperimentalWarning bench/enumeration-branches.ts [rounds] [endpoint…]
 *
 * Endpoints, when named, limit the run to them (the ones that hash nothing take well under a
 * millisecond, so they need many more rounds than 15 to give a stable median).
 *
 *   node --disable-warning=ExperimentalWarning bench/enumeration-branches.ts --http [rounds]
 *
 * The same for forgot-password and resend over real HTTP against the Node server as `npm start`
 * runs it, in production mode, on a database file (so every durable write pays its fsync, which
 * the in-memory run cannot show). Beside the medians it plays an observer who sends ten requests
 * for a known and ten for an unknown address and calls the slower one known: how many of
 * rounds/10 such trials it gets right (half is chance). BENCH_VARS='{"LIMIT_MAIL_PER_ADDRESS_CLIENT":"1/3600"}'
 * adds settings for the server: to time the branches over an allowance, say.
 */
import { inProcessApp } from './in-process.ts';
import { NO_CLIENT_LIMITS } from './servers.ts';

const http = process.argv.includes('--http');
const args = process.argv.slice(2).filter((arg) => arg !== '--http');
if (http) {
  await overHttp(Number(args[0] ?? 450));
  process.exit(0);
}
const rounds = Number(args[0] ?? 15);
const only = args.slice(1);
const PASSWORD = 'correct horse battery staple';
const WRONG = 'purple elephants dance at noon';

let clock = Date.UTC(2026, 0, 1);
// Two hours per call: failed-login back-off never builds up between rounds.
const { post, activeAccount } = await inProcessApp(NO_CLIENT_LIMITS, () => (clock += 2 * 3600_000));

await activeAccount('active@example.com', PASSWORD);
await post('/register', { email: 'pending@example.com', password: PASSWORD });

let fresh = 0;
const branches: Record<string, Record<string, () => unknown>> = {
  register: {
    new: () => ({ email: `new${fresh++}@example.com`, password: WRONG }),
    pending: () => ({ email: 'pending@example.com', password: WRONG }),
    active: () => ({ email: 'active@example.com', password: WRONG }),
  },
  login: {
    unknown: () => ({ email: `nobody${fresh++}@example.com`, password: WRONG }),
    'wrong password': () => ({ email: 'active@example.com', password: WRONG }),
    'pending, wrong password': () => ({ email: 'pending@example.com', password: WRONG }),
    // The register + login chain: the password of a registration the caller made themselves.
    'pending, its own password': () => ({ email: 'pending@example.com', password: PASSWORD }),
  },
  // No branch hashes; the active one stores a reset link and hands a mail to the sink.
  'forgot-password': {
    unknown: () => ({ email: `nobody${fresh++}@example.com` }),
    pending: () => ({ email: 'pending@example.com' }),
    active: () => ({ email: 'active@example.com' }),
  },
  'resend-activation': {
    unknown: () => ({ email: `nobody${fresh++}@example.com` }),
    pending: () => ({ email: 'pending@example.com' }),
    active: () => ({ email: 'active@example.com' }),
  },
};

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

for (const [endpoint, cases] of Object.entries(branches)) {
  if (only.length > 0 && !only.includes(endpoint)) continue;
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < rounds + 2; i++) {
    // Interleaved, so drift in machine load hits every branch alike; two warm-up rounds.
    for (const [branch, body] of Object.entries(cases)) {
      const start = performance.now();
      const res = await post(`/${endpoint}`, body());
      await res.arrayBuffer();
      if (i >= 2) times[branch]!.push(performance.now() - start);
    }
  }
  const medians = Object.entries(times).map(([branch, xs]) => [branch, median(xs)] as const);
  const values = medians.map(([, m]) => m);
  const ratio = Math.max(...values) / Math.min(...values);
  console.log(
    `${endpoint.padEnd(18)} ${medians.map(([b, m]) => `${b}: ${m.toFixed(1)} ms`).join(' | ')}  ratio ${ratio.toFixed(3)} (target 0.9–1.1: ${ratio <= 1.1 ? 'met' : 'MISSED'})`,
  );
}

// Change of address (docs/email-change.md): a logged-in account asks for a free, a taken, a pending,
// and its own address; each branch verifies the password once and runs the same statements. A fresh
// login before each request (outside the timing) keeps the session inside its absolute lifetime
// however many two-hour steps the clock takes.
if (only.length === 0 || only.includes('change-email')) {
  await activeAccount('asker@example.com', PASSWORD);
  const logIn = async () => ((await (await post('/login', { email: 'asker@example.com', password: PASSWORD })).json()) as { session: { token: string } }).session.token;
  const cases: Record<string, () => string> = {
    free: () => `free${fresh++}@example.com`,
    taken: () => 'active@example.com',
    pending: () => 'pending@example.com',
    own: () => 'asker@example.com',
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  for (let i = 0; i < rounds + 2; i++) {
    for (const [branch, newEmail] of Object.entries(cases)) {
      const headers = { Authorization: `Bearer ${await logIn()}` };
      const body = { password: PASSWORD, newEmail: newEmail() };
      const start = performance.now();
      const res = await post('/change-email', body, undefined, headers);
      await res.arrayBuffer();
      if (res.status !== 202) throw new Error(`change-email answered ${res.status}`);
      if (i >= 2) times[branch]!.push(performance.now() - start);
    }
  }
  const medians = Object.entries(times).map(([branch, xs]) => [branch, median(xs)] as const);
  const values = medians.map(([, m]) => m);
  const ratio = Math.max(...values) / Math.min(...values);
  console.log(
    `${'change-email'.padEnd(18)} ${medians.map(([b, m]) => `${b}: ${m.toFixed(1)} ms`).join(' | ')}  ratio ${ratio.toFixed(3)} (target 0.9–1.1: ${ratio <= 1.1 ? 'met' : 'MISSED'})`,
  );
}

/** Ten known against ten unknown, `trials` times: how often the known one's median is the larger. */
function observer(known: number[], unknown: number[]): { right: number; trials: number } {
  const trials = Math.floor(Math.min(known.length, unknown.length) / 10);
  let right = 0;
  for (let t = 0; t < trials; t++) {
    if (median(known.slice(t * 10, t * 10 + 10)) > median(unknown.slice(t * 10, t * 10 + 10))) right += 1;
  }
  return { right, trials };
}

async function overHttp(samples: number) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { seedDatabase } = await import('./seed.ts');
  const { startLatchkeyNode } = await import('./servers.ts');
  const { CHEAP_PARAMS } = await import('./no-hash.ts');
  const { hashPassword } = await import('../lib/crypto/passwords.ts');
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-enum-http-'));
  const path = join(dir, 'accounts.sqlite');
  // One active account (user1@seed.example) and one pending registration (pending0@bench.example).
  await seedDatabase({ path, accounts: 1, accountHash: await hashPassword('correct horse battery staple', CHEAP_PARAMS), pendingTokens: ['bench-enumeration'.padEnd(43, 'x')] });
  // Production mode (PUBLIC_URL not this machine); mail allowances too large to run out, so that
  // every request is one under them, as an observer's few probes of an address are.
  const server = await startLatchkeyNode(path, {
    PUBLIC_URL: 'https://accounts.example.com',
    BREACHED_PASSWORDS: 'off',
    LIMIT_MAIL_PER_ADDRESS_CLIENT: '1000000/3600',
    LIMIT_MAIL_PER_ADDRESS: '2000000/3600',
    ...JSON.parse(process.env.BENCH_VARS ?? '{}'),
  });
  try {
    let fresh = 0;
    const cases: Record<string, () => string> = {
      unknown: () => `nobody${fresh++}@example.com`,
      pending: () => 'pending0@bench.example',
      active: () => 'user1@seed.example',
    };
    for (const endpoint of ['forgot-password', 'resend-activation']) {
      const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
      for (let i = 0; i < samples + 20; i++) {
        // Shuffled each round, so that neither order nor drift in machine load favours a branch.
        for (const [branch, email] of Object.entries(cases).sort(() => Math.random() - 0.5)) {
          const start = performance.now();
          const res = await fetch(`${server.url}/${endpoint}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: email() }) });
          await res.arrayBuffer();
          if (res.status !== 202) throw new Error(`${endpoint} ${branch}: ${res.status}`);
          if (i >= 20) times[branch]!.push(performance.now() - start);
        }
      }
      const m = Object.fromEntries(Object.entries(times).map(([b, xs]) => [b, median(xs)]));
      const ratios = ['pending', 'active'].map((b) => `${b}/unknown ${(m[b]! / m.unknown!).toFixed(3)}`);
      const observed = ['pending', 'active'].map((b) => {
        const { right, trials } = observer(times[b]!, times.unknown!);
        return `${b} ${right}/${trials}`;
      });
      console.log(
        `${endpoint.padEnd(18)} ${Object.entries(m).map(([b, v]) => `${b}: ${v.toFixed(3)} ms`).join(' | ')}  ${ratios.join(', ')} (target 0.9–1.1)  observer right: ${observed.join(', ')}`,
      );
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
