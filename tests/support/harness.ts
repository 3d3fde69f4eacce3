/**
 * A Latchkey app over a fresh database of the project's backend, with everything a test wants to
 * watch: the mails, the security events, a clock it can move, and a count of password hashes.
 */
import { backend } from '#backend';
import { createLatchkey, optionsFromEnv, type Latchkey, type LatchkeyApp, type LatchkeyOptions } from '../../functions/latchkey.ts';
import type { ConfigVars } from '../../lib/config/config.ts';
import type { Database } from '../../lib/storage/db.ts';
import type { Deps } from '../../lib/deps.ts';
import type { EventFields } from '../../lib/log.ts';
import type { OutgoingMail } from '../../lib/mail/transport.ts';
import { createPasswordHasher, type PasswordHasher } from '../../lib/crypto/passwords.ts';
import { enforceContract } from './contract.ts';
import { newKeyBytes } from '../../lib/crypto/seal.ts';
export { NO_LIMITS } from '../../scripts/support/limits.ts';

export const PUBLIC_URL = 'https://accounts.example.test';
export const GOOD_PASSWORD = 'correct horse battery staple';
export const OTHER_PASSWORD = 'purple elephants dance at noon';

/** Cheap scrypt parameters: the behaviour is the same, the cost is not (one test uses the real ones). */
export const FAST_SCRYPT = { SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1' };

/**
 * The harness's PUBLIC_URL is a production one, where the breached-password lookup is on by default:
 * no test asks the real range API (tests/breached-passwords.test.ts points it at a local one).
 */
export const NO_LOOKUPS = { BREACHED_PASSWORDS: 'off' };

export interface HashCounts {
  hash: number;
  verify: number;
}

export interface Harness {
  app: LatchkeyApp;
  /** The flows without HTTP over the same services (functions/api.ts); their mail waits in `later` until settled(). */
  api: Latchkey['api'];
  deps: Deps;
  db: Database;
  mails: OutgoingMail[];
  events: Array<{ event: string } & EventFields>;
  hashes: HashCounts;
  clock: { now: number };
  /** The client address every request appears to come from; change it to be someone else. */
  client: { address: string };
  /** What requests leave for after their answers (the outbox's sends): finished with each answer unless held. */
  later: AfterResponse;
  post(path: string, body: unknown, headers?: Record<string, string>): Promise<Response>;
  get(path: string): Promise<Response>;
  /** Any request with a session token: `Authorization: Bearer <token>` (a raw header value with `authorization`). */
  bearer(method: string, path: string, token: string | undefined, body?: unknown, headers?: Record<string, string>): Promise<Response>;
  /** Logs in and returns the new session's token. */
  logIn(email: string, password?: string): Promise<string>;
  /** Registers and returns the token from the activation mail. */
  registerAndGetToken(email: string, password?: string): Promise<string>;
  /** Registers, activates, and returns nothing: the account is active. */
  createActiveAccount(email: string, password?: string): Promise<void>;
  /** Asks for a password reset and returns the token from the reset mail. */
  forgotAndGetToken(email: string): Promise<string>;
}

/**
 * What requests leave for after their answers (the outbox's sends), held in the harness: by default
 * run as soon as a request's answer is back, before the test sees it, as the runtime would run it;
 * with `hold` set, not started until `settled()`, so a test can look at a request's own work alone.
 */
function afterResponseQueue(): AfterResponse & { later: (work: () => Promise<unknown>) => Promise<unknown> } {
  const queued: Array<() => Promise<void>> = [];
  const queue = {
    hold: false,
    later(work: () => Promise<unknown>) {
      return new Promise<unknown>((resolve, reject) => queued.push(() => work().then(resolve, reject)));
    },
    async settled() {
      while (queued.length > 0) await queued.shift()!().catch(() => undefined);
    },
  };
  return queue;
}

/** The app's fetch, running what a request left for after its answer unless the test holds it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function finishingAfterResponse<A extends { fetch: (request: Request, ...rest: any[]) => Response | Promise<Response> }>(app: A, later: AfterResponse): A {
  const inner = app.fetch.bind(app);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  app.fetch = async (request: Request, ...rest: any[]) => {
    const response = await inner(request, ...rest);
    if (!later.hold) await later.settled();
    return response;
  };
  return app;
}

export interface AfterResponse {
  /** Leave each request's after-response work pending until settled() is called. */
  hold: boolean;
  settled(): Promise<void>;
}

function countingHasher(inner: PasswordHasher, counts: HashCounts): PasswordHasher {
  return {
    hash: (password) => (counts.hash++, inner.hash(password)),
    verify: (password, stored) => (counts.verify++, inner.verify(password, stored)),
    verifyDummy: (password) => (counts.verify++, inner.verifyDummy(password)),
    busy: () => inner.busy(),
    needsRehash: (stored) => inner.needsRehash(stored),
  };
}

export function tokenFromLink(link: string | undefined): string {
  if (!link) throw new Error('mail has no link');
  const url = new URL(link);
  const token = url.searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

type WrapHasher = (hasher: PasswordHasher) => PasswordHasher;

/** Options a test adds to the harness's own (the host's hooks, say). */
export type ExtraOptions = Partial<Pick<LatchkeyOptions, 'onActivated' | 'onPasswordChanged' | 'onAccountDeleted' | 'onEmailChanged'>>;

export async function createHarness(
  vars: ConfigVars = {},
  wrap: (db: Database) => Database = (db) => db,
  wrapHasher: WrapHasher = (hasher) => hasher,
  extra: ExtraOptions = {},
): Promise<Harness> {
  return harnessOn(wrap(await backend.freshDatabase()), vars, wrapHasher, extra);
}

/** A second app over an existing database (another configuration, say), without resetting it. */
export function harnessOn(raw: Database, vars: ConfigVars = {}, wrapHasher: WrapHasher = (hasher) => hasher, extra: ExtraOptions = {}): Harness {
  const settings = optionsFromEnv({ PUBLIC_URL, ...FAST_SCRYPT, ...NO_LOOKUPS, ...vars });
  const mails: OutgoingMail[] = [];
  const events: Harness['events'] = [];
  const hashes: HashCounts = { hash: 0, verify: 0 };
  const clock = { now: Date.UTC(2026, 0, 15, 12, 0, 0) };
  const client = { address: '192.0.2.1' };
  const later = afterResponseQueue();
  // Built by the composition root as the entries build theirs; what a test watches is swapped in.
  const latchkey = createLatchkey({
    ...settings,
    database: raw,
    // Counted, under the same queue as the entries' (the root puts it in front; 4 slots unless HASH_MAX_IN_FLIGHT).
    hasher: wrapHasher(countingHasher(createPasswordHasher(settings.scrypt), hashes)),
    // A transport that keeps what it is given: the mails as the courier renders and sends them.
    transport: { name: 'log', send: async (mail) => void mails.push(mail) },
    // A key of its own, whatever DATA_KEY says; no development mailbox (a test adds one to deps).
    dataKey: newKeyBytes(),
    mailbox: false,
    log: (event, fields = {}) => void events.push({ event, ...fields }),
    now: () => clock.now,
    clientAddress: () => client.address,
    later: later.later,
    ...extra,
  });
  const { deps } = latchkey;
  const db = deps.db;
  // Every response a handler test sees must be one the OpenAPI document promises (tests/support/contract.ts).
  const app = finishingAfterResponse(enforceContract(latchkey.app), later);
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(
      app.request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    );
  const get = (path: string) => Promise.resolve(app.request(path));

  const bearer = (method: string, path: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
    Promise.resolve(
      app.request(path, {
        method,
        headers: {
          ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    );
  const logIn = async (email: string, password = GOOD_PASSWORD) => {
    const res = await post('/login', { email, password });
    if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { session: { token: string } }).session.token;
  };

  const registerAndGetToken = async (email: string, password = GOOD_PASSWORD) => {
    const before = mails.length;
    const res = await post('/register', { email, password });
    if (res.status !== 202) throw new Error(`register answered ${res.status}: ${await res.text()}`);
    const mail = mails.slice(before).find((m) => m.template === 'activation');
    return tokenFromLink(mail?.link);
  };
  const createActiveAccount = async (email: string, password = GOOD_PASSWORD) => {
    const token = await registerAndGetToken(email, password);
    const res = await post('/activate', { token, password });
    if (res.status !== 200) throw new Error(`activate answered ${res.status}: ${await res.text()}`);
  };
  const forgotAndGetToken = async (email: string) => {
    const before = mails.length;
    const res = await post('/forgot-password', { email });
    if (res.status !== 202) throw new Error(`forgot-password answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 0)); // the mail is handed off after the answer
    return tokenFromLink(mails.slice(before).find((m) => m.template === 'password-reset')?.link);
  };
  return { app, api: latchkey.api, deps, db, mails, events, hashes, clock, client, later, post, get, bearer, logIn, registerAndGetToken, createActiveAccount, forgotAndGetToken };
}

/**
 * Every row of the application's tables, to prove a request changed nothing. The throttle table
 * and the devices' failure counts are left out on purpose: counting an attempt is their job.
 */
export async function dump(db: Database): Promise<string> {
  const accounts = await db.prepare('SELECT * FROM accounts ORDER BY id').all();
  const registrations = await db.prepare('SELECT * FROM registrations ORDER BY token_hash').all();
  const devices = await db.prepare('SELECT token_hash, account_id, created_at, expires_at FROM devices ORDER BY token_hash').all();
  const resets = await db.prepare('SELECT * FROM password_resets ORDER BY token_hash').all();
  const sessions = await db.prepare('SELECT * FROM sessions ORDER BY id').all();
  const emailChanges = await db.prepare('SELECT * FROM email_changes ORDER BY token_hash').all();
  // The second factor's rows, less its counters (the time step spent, a challenge's attempts): spending is their job.
  const totp = await db.prepare('SELECT account_id, secret_sealed, created_at, enabled_at, recovery_set FROM mfa_totp ORDER BY account_id').all();
  const recoveryCodes = await db.prepare('SELECT * FROM mfa_recovery_codes ORDER BY code_hash').all();
  const challenges = await db.prepare('SELECT id, account_id, expires_at, used_by FROM mfa_challenges ORDER BY id').all();
  return JSON.stringify({
    accounts: accounts.results,
    registrations: registrations.results,
    devices: devices.results,
    resets: resets.results,
    sessions: sessions.results,
    emailChanges: emailChanges.results,
    ...(totp.results.length + recoveryCodes.results.length + challenges.results.length > 0 && { totp: totp.results, recoveryCodes: recoveryCodes.results, challenges: challenges.results }),
  });
}
