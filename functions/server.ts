/**
 * Node entry (`npm start`): the app on @hono/node-server over a sql.js database file.
 * Writes are durable before the response (see lib/storage/sqljs/journal.ts); SIGTERM and SIGINT let in-flight
 * requests finish, write a final snapshot and exit 0.
 */
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { Server } from 'node:http';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxiedClientAddress, undeclaredProxyWarning, UNKNOWN_CLIENT } from '../lib/http/client-address.ts';
import { describeMode, mailWarning, type Config } from '../lib/config/config.ts';
import { loadNodeServerLimits } from '../lib/config/node-server-limits.ts';
import { makePrivateDirectory } from '../lib/storage/sqljs/files.ts';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../lib/storage/sqljs/open.ts';
import { jsonEventLog, type EventLog } from '../lib/log.ts';
import { outboxTickMs } from '../lib/mail/courier.ts';
import { chooseTransport } from '../lib/mail/transports/choose.ts';
import { smtpTransport } from '../lib/mail/transports/smtp.ts';
import { dataKeyBesideDatabase } from '../lib/storage/sqljs/data-key-file.ts';
import { readFileSync } from 'node:fs';
import { hashCapacity, hashSlots, poolThreads } from '../lib/crypto/threadpool.ts';
import { createLatchkey, optionsFromEnv } from './latchkey.ts';
import { MAILBOX_PATH } from './endpoints/dev-mail.ts';
import { answersTogether } from './answers-together.ts';
import { guardNodeServer, nodeServerOptions, withHostRequired } from './node-http.ts';

/**
 * The socket's peer; X-Forwarded-For only from the proxies TRUSTED_PROXIES names. The first time
 * another peer sends that header, `log` hears of it (see undeclaredProxyWarning).
 */
export function nodeClientAddress(config: Pick<Config, 'trustedProxies'>, log: EventLog = () => undefined) {
  const warn = undeclaredProxyWarning(config.trustedProxies, log);
  const seen = new Map<string | undefined, string>();
  return (c: Context): string => {
    let socket: string | undefined;
    try {
      socket = getConnInfo(c).remote.address;
    } catch {
      return UNKNOWN_CLIENT; // not a request from @hono/node-server's socket
    }
    const forwardedFor = c.req.header('x-forwarded-for');
    warn(socket, forwardedFor);
    // The same peer (a kept-alive connection, a proxy) asks again and again: parsing and
    // formatting its address each time was 4 % of the server's time on GET /health.
    const key = forwardedFor === undefined ? socket : `${socket} ${forwardedFor}`;
    let client = seen.get(key);
    if (client === undefined) {
      client = proxiedClientAddress(socket, forwardedFor, config.trustedProxies);
      if (seen.size >= SEEN_ADDRESSES) seen.clear();
      seen.set(key, client);
    }
    return client;
  };
}

/** How many peers (and forwarded chains) nodeClientAddress remembers before it starts afresh. */
const SEEN_ADDRESSES = 1024;

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

// Event and mail lines straight to stdout, as console.log would write them but without its
// formatting layer: 0.75 µs a line instead of 3.3 µs into a pipe (bench/micro.ts), on every
// refused request. Synchronous for files and pipes on Linux, as console.log is: a refusal's line
// is in the pipe before its answer leaves, so a crash just after cannot lose it.
const writeLine = (line: string) => void process.stdout.write(`${line}\n`);

// A plain record rather than NodeJS.ProcessEnv: a consumer of 'latchkey/node' needs no Node types to compile.
export async function main(env: Record<string, string | undefined> = process.env): Promise<void> {
  const port = Number(env.PORT ?? 8787);
  const host = env.HOST ?? '127.0.0.1';
  const settings = optionsFromEnv({ ...env, PUBLIC_URL: env.PUBLIC_URL || `http://localhost:${port}` });
  const path = resolve(env.DATABASE_PATH ?? './data/accounts.sqlite');
  const limits = loadNodeServerLimits(env);
  makePrivateDirectory(dirname(path));
  const log = jsonEventLog(writeLine);
  const database = await openSqlJsDatabase({
    path,
    migrations: readMigrations(MIGRATIONS_DIR),
    // Lower only to exercise snapshots more often (the crash tests do); the default suits service.
    ...(env.JOURNAL_SNAPSHOT_BYTES ? { minSnapshotBytes: Number(env.JOURNAL_SNAPSHOT_BYTES) } : {}),
    onSnapshotFailed: (error) => log('snapshot_failed', { reason: error instanceof Error ? error.message : 'unknown' }),
    onSyncFailed: (error) => log('journal_sync_failed', { reason: error instanceof Error ? error.message : 'unknown' }),
  });

  // scrypt runs on libuv's thread pool: hashes beyond the cores (or the pool's threads) would only
  // wait there, each holding its memory. Waiting in our queue instead costs almost nothing.
  // `npm start` (functions/start.ts) sized the pool for them before it was first used.
  const threadpool = poolThreads(env.UV_THREADPOOL_SIZE);
  const slots = hashSlots(hashCapacity(settings), env.UV_THREADPOOL_SIZE);
  const latchkey = createLatchkey({
    ...settings,
    database,
    hashSlots: slots,
    transport: chooseTransport(settings.mail, {
      runtime: 'Node',
      writeLine,
      smtp: ({ url, caFile }, timeoutMs) => smtpTransport({ url, timeoutMs, ...(caFile ? { caPem: readFileSync(caFile, 'utf8') } : {}) }),
    }),
    dataKey: settings.mail.dataKey ?? dataKeyBesideDatabase(path),
    log,
    clientAddress: nodeClientAddress(settings, log),
  });
  const { app, deps } = latchkey;
  const config = deps.config;
  const server = serve({ fetch: answersTogether(app.fetch), port, hostname: host, serverOptions: nodeServerOptions(limits), createServer: withHostRequired(log) }, (info) => {
    // PORT=0 lets the system pick a free port; the default links must then name the one it picked.
    // This runs on 'listening', before any connection is handled.
    if (!env.PUBLIC_URL && port === 0) deps.config = { ...config, publicUrl: `http://localhost:${info.port}` };
    log('server_started', {
      port: info.port,
      database: path,
      publicUrl: deps.config.publicUrl,
      mode: config.mode,
      modeNote: describeMode(config),
      hashSlots: slots,
      threadpool,
      ...(deps.mailbox ? { mailbox: `${deps.config.publicUrl}${MAILBOX_PATH}` } : {}),
      mailTransport: config.mail.transport,
      ...mailWarning(config),
    });
  });
  guardNodeServer(server as Server, limits, log);

  // Housekeeping in the server itself, since it holds the database file's lock (npm run purge
  // refuses while it runs). unref: the timer never keeps a stopping process alive.
  const purgeNow = () =>
    latchkey.purge().then(
      (removed) => log('purge', { ...removed, trigger: 'timer' }),
      (error: unknown) => log('purge_failed', { reason: error instanceof Error ? error.name : 'unknown' }),
    );
  const purgeTimer = setInterval(purgeNow, config.purgeIntervalSeconds * 1000);
  purgeTimer.unref();
  void purgeNow();

  // The outbox's retries, and what a crash left unsent: at start, then every few seconds. One
  // drain at a time; a drain that finds a full batch goes on at once.
  let draining = false;
  const drainNow = async () => {
    if (draining) return;
    draining = true;
    try {
      while ((await latchkey.drainOutbox('timer')).more);
    } finally {
      draining = false;
    }
  };
  const drainTimer = setInterval(() => void drainNow(), outboxTickMs(config.mail.retrySeconds));
  drainTimer.unref();
  void drainNow();

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('server_stopping', { signal });
    clearInterval(purgeTimer);
    clearInterval(drainTimer);
    server.close(() => {
      database.close();
      log('server_stopped', {});
      process.exit(0);
    });
    // Idle keep-alive connections would hold close() open; in-flight requests still complete.
    if ('closeIdleConnections' in server) server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
