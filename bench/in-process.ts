/**
 * Latchkey's app in process, over an in-memory sql.js database, for the benchmarks that measure
 * what the app itself does (bench/enumeration-branches.ts, bench/lockout.ts) rather than a server:
 * no network, no process, a clock the caller decides, and the activation links kept from the mail.
 */
import { createLatchkey, optionsFromEnv } from '../functions/latchkey.ts';
import type { Config, ConfigVars } from '../lib/config/config.ts';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase, type SqlJsDatabase } from '../lib/storage/sqljs/open.ts';
import type { Database } from '../lib/storage/db.ts';

export interface InProcessApp {
  db: SqlJsDatabase;
  config: Config;
  /** A JSON POST, as the client address `from`. */
  post(path: string, body: unknown, from?: string, headers?: Record<string, string>): Promise<Response>;
  /** A GET with these headers (a bearer token, say), as the default client. */
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** The token of the link in the last mail that carried one. */
  lastToken(): string;
  /** Waits for what earlier requests left to do after their answers (their mails). */
  settled(): Promise<void>;
  /** Registers `email` and activates it with the link from its mail, as `from`. */
  activeAccount(email: string, password: string, from?: string): Promise<void>;
}

const DEFAULT_CLIENT = '192.0.2.1';

export async function inProcessApp(vars: ConfigVars, now: () => number, wrap: (db: Database) => Database = (db) => db): Promise<InProcessApp> {
  const settings = optionsFromEnv({ PUBLIC_URL: 'https://bench.example', BREACHED_PASSWORDS: 'off', ...vars });
  const db = await openSqlJsDatabase({ migrations: readMigrations(new URL('../migrations', import.meta.url).pathname) });
  let client = DEFAULT_CLIENT;
  let lastLink = '';
  // Wired by the composition root as the server is (its hash queue and database guard included).
  const { app, deps } = createLatchkey({
    ...settings,
    database: wrap(db),
    transport: { name: 'log', send: async (m) => void (lastLink = m.link ?? lastLink) },
    log: () => undefined,
    now,
    clientAddress: () => client,
  });
  const config = deps.config;
  // What a request leaves to do after its answer (its mails' sends), for settled() to wait on.
  const pending: Promise<unknown>[] = [];
  const context = { waitUntil: (work: Promise<unknown>) => void pending.push(work), passThroughOnException: () => undefined, props: {} };
  const settled = async () => {
    while (pending.length > 0) await pending.shift();
  };
  const post = (path: string, body: unknown, from = DEFAULT_CLIENT, headers: Record<string, string> = {}) => {
    client = from;
    return Promise.resolve(app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) }, undefined, context));
  };
  const activeAccount = async (email: string, password: string, from = DEFAULT_CLIENT) => {
    await post('/register', { email, password }, from);
    await settled();
    const activated = await post('/activate', { token: new URL(lastLink).searchParams.get('token'), password }, from);
    if (activated.status !== 200) throw new Error(`activating ${email} answered ${activated.status}`);
  };
  const get = (path: string, headers: Record<string, string> = {}) => {
    client = DEFAULT_CLIENT;
    return Promise.resolve(app.request(path, { headers }, undefined, context));
  };
  const lastToken = () => new URL(lastLink).searchParams.get('token') ?? '';
  return { db, config, post, get, lastToken, activeAccount, settled };
}
