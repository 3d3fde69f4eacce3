/**
 * Figure 3: the requests that hash nothing (`GET /health`, `GET /session`, the activation page,
 * `POST /activate` with an unknown token), taking turns with bare Hono round after round, with the
 * server's CPU per request. Run by the full bench (bench.ts) and alone by bench/cheap-paths.ts;
 * bench/cheap-paths-ab.ts sends the same requests to two checkouts.
 */
import { join } from 'node:path';
import { hashPassword, type ScryptParams } from '../lib/crypto/passwords.ts';
import { mergeLoads, runLoad, type LoadResult, type LoadSpec } from './load.ts';
import { BENCH_PAGE_TOKEN } from './pending-link.ts';
import { seedDatabase } from './seed.ts';
import { startLatchkeyNode, type Running } from './servers.ts';

/** The tests' cheap scrypt, for servers whose figures are not about the hash. */
export const CHEAP_PARAMS: ScryptParams = { logN: 4, r: 8, p: 1 };
export const CHEAP_SCRYPT = { SCRYPT_LOG_N: String(CHEAP_PARAMS.logN), SCRYPT_R: String(CHEAP_PARAMS.r), SCRYPT_P: String(CHEAP_PARAMS.p) };

const CHEAP_EMAIL = 'bench@example.com';
export const CHEAP_PASSWORD = 'correct horse battery staple';

/**
 * Latchkey's Node server for figure 3 alone (bench/cheap-paths.ts, bench/cheap-paths-ab.ts) and for
 * its profiles (bench/profile.ts): its
 * own database `<dir>/<name>.sqlite` seeded with 1,000 accounts, one account to log in to and the
 * pending link whose page is asked for; the tests' cheap hash; the activation counter on with a
 * limit too high to refuse, as the full run has it, unless `limit` says otherwise ("off"); a live
 * session's Authorization header. `root`: another checkout to run instead of this one; `nodeFlags`:
 * more of Node's options for the server.
 */
export async function startCheapNode(
  dir: string,
  name: string,
  options: { root?: string; limit?: string; nodeFlags?: string[] } = {},
): Promise<Running & { bearer: Record<string, string> }> {
  const path = join(dir, `${name}.sqlite`);
  const hash = await hashPassword(CHEAP_PASSWORD, CHEAP_PARAMS);
  await seedDatabase({ path, accounts: 1000, accountHash: hash, named: [{ email: CHEAP_EMAIL, passwordHash: hash }], pendingTokens: [BENCH_PAGE_TOKEN] });
  const server = await startLatchkeyNode(path, { LIMIT_ACTIVATE_PER_CLIENT: options.limit ?? '9999999/600', ...CHEAP_SCRYPT }, options.root, options.nodeFlags);
  return { ...server, bearer: await bearerFor(server.url, JSON.stringify({ email: CHEAP_EMAIL, password: CHEAP_PASSWORD })) };
}

/** The Authorization header of a new session: one login (the one hash of a no-hash run). */
export async function bearerFor(url: string, body: string): Promise<Record<string, string>> {
  const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const { session } = (await login.json()) as { session: { token: string } };
  return { authorization: `Bearer ${session.token}` };
}

export interface NoHash {
  hello: LoadResult;
  /**
   * Bare Hono's own POST of the same body as `invalid` (read, parsed, its length checked as
   * Latchkey checks it): not a target, the floor that a POST stands on before it does any work.
   */
  helloPost: LoadResult;
  /**
   * Bare Hono answering the same activation page with the same headers (bench/hello-server.ts):
   * not a target, the floor under the page row, what its bytes and headers cost alone.
   */
  helloPage: LoadResult;
  health: LoadResult;
  /** GET /session with a live token: one indexed read (its hourly slide falls outside a run). */
  session: LoadResult;
  page: LoadResult;
  invalid: LoadResult;
}

export interface NoHashPlan {
  rounds: number;
  connections: number;
  seconds: number;
  /** A pending registration's link token, for the page. */
  pageToken: string;
  /** A password the policy takes, for the unknown-token POST. */
  password: string;
  /** Every load, with what it was, so that the caller can report unexpected answers. */
  load?: (spec: LoadSpec, what: string) => Promise<LoadResult>;
}

const INVALID_BODY = (password: string) => JSON.stringify({ token: 'A'.repeat(43), password });

/** One of figure 3's requests, to be sent to a server (url), at a load (connections, seconds). */
export type CheapRequest = Omit<LoadSpec, 'url' | 'connections' | 'seconds' | 'amount' | 'serverCpu'>;
export type CheapPath = 'health' | 'session' | 'page' | 'invalid';

/** Figure 3's four requests to Latchkey, `bearer` a live session's Authorization header. */
export function cheapRequests(plan: Pick<NoHashPlan, 'pageToken' | 'password'>, bearer: Record<string, string>): Record<CheapPath, CheapRequest> {
  return {
    health: { path: '/health', expect: [200] },
    session: { path: '/session', headers: bearer, expect: [200] },
    page: { path: `/activate?token=${plan.pageToken}`, expect: [200] },
    invalid: { path: '/activate', method: 'POST', body: INVALID_BODY(plan.password), expect: [400] },
  };
}

export async function noHashFigures(server: Running, hello: Running, bearer: Record<string, string>, plan: NoHashPlan): Promise<NoHash> {
  const load = plan.load ?? ((spec: LoadSpec) => runLoad(spec));
  const base = { connections: plan.connections, seconds: plan.seconds };
  const cpu = server.cpuSeconds() === null ? undefined : server.cpuSeconds;
  const onHello = (request: CheapRequest): LoadSpec => ({ ...base, url: hello.url, serverCpu: hello.cpuSeconds, ...request });
  const onServer = (request: CheapRequest): LoadSpec => ({ ...base, url: server.url, serverCpu: cpu, ...request });
  const ours = cheapRequests(plan, bearer);
  const specs: Record<keyof NoHash, LoadSpec> = {
    hello: onHello({ path: '/', expect: [200] }),
    helloPost: onHello({ path: '/body/declared-length', method: 'POST', body: INVALID_BODY(plan.password), expect: [200] }),
    helloPage: onHello({ path: '/page', expect: [200] }),
    health: onServer(ours.health),
    session: onServer(ours.session),
    page: onServer(ours.page),
    invalid: onServer(ours.invalid),
  };
  await samePage(`${server.url}${specs.page.path}`, `${hello.url}/page`);
  // Once each before measuring, so that no figure pays for compiling code or a cold connection.
  await runLoad(specs.hello);
  await runLoad(specs.session);
  const runs: Record<keyof NoHash, LoadResult[]> = { hello: [], helloPost: [], helloPage: [], health: [], session: [], page: [], invalid: [] };
  for (let round = 0; round < plan.rounds; round++) {
    for (const name of Object.keys(specs) as Array<keyof NoHash>) runs[name].push(await load(specs[name], name));
  }
  return {
    hello: mergeLoads(runs.hello),
    helloPost: mergeLoads(runs.helloPost),
    helloPage: mergeLoads(runs.helloPage),
    health: mergeLoads(runs.health),
    session: mergeLoads(runs.session),
    page: mergeLoads(runs.page),
    invalid: mergeLoads(runs.invalid),
  };
}

/**
 * The page row's floor is only a floor if bare Hono sends what Latchkey sends: the same status,
 * body and headers, but those that each server's HTTP layer sets itself.
 */
const OWN_HEADERS = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'content-encoding']);

async function samePage(latchkey: string, bare: string): Promise<void> {
  const answer = async (url: string) => {
    const res = await fetch(url, { headers: { accept: 'text/html' } });
    const headers = [...res.headers].filter(([name]) => !OWN_HEADERS.has(name));
    return JSON.stringify({ status: res.status, headers, body: await res.text() });
  };
  const [ours, theirs] = await Promise.all([answer(latchkey), answer(bare)]);
  if (ours !== theirs) throw new Error(`bare Hono's /page is not Latchkey's activation page:\n${ours}\n${theirs}`);
}
