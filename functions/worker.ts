/**
 * Cloudflare Workers entry: the app over the D1 binding, configured from [vars] and secrets.
 */
import { createApp } from './app.ts';
import { cloudflareClientAddress } from '../lib/http/client-address.ts';
import { purge } from '../lib/storage/purge.ts';
import { describeMode, loadConfig } from '../lib/config/config.ts';
import { guardDatabase, type Database } from '../lib/storage/db.ts';
import type { Deps } from '../lib/deps.ts';
import { jsonEventLog } from '../lib/log.ts';
import { queuedHasher } from '../lib/crypto/hash-queue.ts';
import { logMailSink } from '../lib/mail/mail.ts';
import { developmentMail, memoryMailbox } from '../lib/mail/mailbox.ts';
import { createPasswordHasher } from '../lib/crypto/passwords.ts';

export interface WorkerEnv {
  DB: Database;
  [variable: string]: unknown;
}

const WORKER_HASH_SLOTS = 4;

// An isolate serves many requests with the same env: build what they share once, not per request.
let cached: { env: WorkerEnv; deps: Deps } | undefined;
// Development mode only: the isolate's memory is the mailbox (wrangler dev runs one isolate).
const isolateMailbox = memoryMailbox();

function depsFor(env: WorkerEnv): Deps {
  if (cached?.env === env) return cached.deps;
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const config = loadConfig(vars);
  const deps: Deps = {
    db: guardDatabase(env.DB),
    config,
    // workerd runs each scrypt to its end on the isolate's one thread, so hashes barely overlap
    // here; the cap mainly bounds how many requests one isolate lets wait.
    hasher: queuedHasher(createPasswordHasher(config.scrypt), {
      maxInFlight: config.hashMaxInFlight ?? WORKER_HASH_SLOTS,
      maxQueued: config.hashMaxQueued,
    }),
    ...developmentMail(config, logMailSink(), isolateMailbox),
    log: jsonEventLog(),
    now: Date.now,
    clientAddress: (c) => cloudflareClientAddress(c.req.raw.headers),
  };
  cached = { env, deps };
  // A Worker has no start of its own: its first request in an isolate is where it says its mode.
  deps.log('worker_started', { publicUrl: config.publicUrl, mode: config.mode, modeNote: describeMode(config) });
  return deps;
}

const app = createApp((c) => depsFor(c.env as unknown as WorkerEnv));

/** The cron trigger in wrangler.toml: delete what no request can use any more (lib/storage/purge.ts). */
async function scheduled(_controller: ScheduledController, env: WorkerEnv): Promise<void> {
  const deps = depsFor(env);
  const removed = await purge(deps.db, deps.now(), deps.config.purgeGraceSeconds, deps.config.sessions);
  deps.log('purge', { ...removed, trigger: 'cron' });
}

export default {
  fetch: app.fetch,
  scheduled,
} satisfies ExportedHandler<WorkerEnv>;
