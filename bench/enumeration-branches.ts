/**
 * How alike the branches of register, login, forgot-password and resend are in time, with the
 * production scrypt parameters, in process on Node over an in-memory sql.js database (no network,
 * no throttling). Prints the median per branch and the slowest/fastest median ratio per endpoint;
 * the target for each is 0.9–1.1 (a ratio of slowest to fastest, so at most 1.1).
 *
 *   node --disable-warning=ExperimentalWarning bench/enumeration-branches.ts [rounds] [endpoint…]
 *
 * Endpoints, when named, limit the run to them (the ones that hash nothing take well under a
 * millisecond, so they need many more rounds than 15 to give a stable median).
 */
import { inProcessApp } from './in-process.ts';
import { NO_CLIENT_LIMITS } from './servers.ts';

const rounds = Number(process.argv[2] ?? 15);
const only = process.argv.slice(3);
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

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
