/**
 * What the Worker does, as plain functions of its env: the app over the D1 binding, configured from
 * [vars] and secrets; the cron; the sessions that RPC callers ask about. The entry itself, a
 * WorkerEntrypoint class, is functions/worker.ts; this is apart so that Node (tests/purge.test.ts)
 * can import it without `cloudflare:workers`, which only workerd has.
 */
import { appFindingLatchkey, createLatchkey, optionsFromEnv, type Latchkey } from './latchkey.ts';
import { cloudflareClientAddress } from '../lib/http/client-address.ts';
import { describeMode, mailWarning } from '../lib/config/config.ts';
import type { Database } from '../lib/storage/db.ts';
import { jsonEventLog } from '../lib/log.ts';
import { memoryMailbox } from '../lib/mail/mailbox.ts';
import { newKeyBytes } from '../lib/crypto/seal.ts';
import { chooseTransport } from '../lib/mail/transports/choose.ts';
import type { SendEmailBinding } from '../lib/mail/transports/cloudflare.ts';
import { ConfigError } from '../lib/config/vars.ts';
import type { MailSettings } from '../lib/config/mail-settings.ts';
import { firstLayerRefusal, type RateLimitBinding } from '../lib/http/first-layer.ts';

export interface WorkerEnv {
  DB: Database;
  /** Cloudflare Email Service's send_email binding, for MAIL_TRANSPORT=cloudflare. */
  EMAIL?: SendEmailBinding;
  /** A Workers Rate Limiting binding: when declared, a coarse per-client first layer (lib/http/first-layer.ts). */
  RATE_LIMITER?: RateLimitBinding;
  [variable: string]: unknown;
}

/** The cron in wrangler.toml that also purges; every other run only drains the outbox. */
const PURGE_CRON = '17 * * * *';

/**
 * DATA_KEY seals the outbox's mails. A real transport needs it set (a secret): rows must open in
 * whichever isolate sends them. With the log transport an isolate may make its own key, as its
 * mails are written to the log at once anyway; a row it leaves behind is given up as unreadable.
 */
function dataKey(mail: MailSettings): Uint8Array {
  if (mail.dataKey) return mail.dataKey;
  if (mail.transport !== 'log') throw new ConfigError(`DATA_KEY must be set (wrangler secret put DATA_KEY) when MAIL_TRANSPORT is ${mail.transport}`);
  return newKeyBytes();
}

// An isolate serves many requests with the same env: build what they share once, not per request.
let cached: { env: WorkerEnv; latchkey: Latchkey } | undefined;
// Development mode only: the isolate's memory is the mailbox (wrangler dev runs one isolate).
const isolateMailbox = memoryMailbox();

/**
 * A Worker has no start to refuse: a setting that cannot work fails every request, and each says
 * why in one line naming the setting (the answer itself is a plain 500, which names nothing).
 */
export function latchkeyFor(env: WorkerEnv): Latchkey {
  try {
    return buildLatchkey(env);
  } catch (error) {
    if (error instanceof ConfigError) jsonEventLog()('worker_misconfigured', { reason: error.message });
    throw error;
  }
}

function buildLatchkey(env: WorkerEnv): Latchkey {
  if (cached?.env === env) return cached.latchkey;
  const vars = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const settings = optionsFromEnv(vars);
  const latchkey = createLatchkey({
    ...settings,
    // No hashSlots: workerd runs each scrypt to its end on the isolate's one thread, so hashes
    // barely overlap here; the queue's cap (HASH_MAX_IN_FLIGHT, else the root's 4) mainly bounds
    // how many requests one isolate lets wait.
    database: env.DB,
    transport: chooseTransport(settings.mail, { runtime: 'Workers', writeLine: (line) => console.log(line), emailBinding: env.EMAIL }),
    dataKey: dataKey(settings.mail),
    mailbox: isolateMailbox,
    log: jsonEventLog(),
    clientAddress: (c) => cloudflareClientAddress(c.req.raw.headers),
  });
  cached = { env, latchkey };
  const { deps } = latchkey;
  const config = deps.config;
  // A Worker has no start of its own: its first request in an isolate is where it says its mode.
  deps.log('worker_started', { publicUrl: config.publicUrl, mode: config.mode, modeNote: describeMode(config), mailTransport: config.mail.transport, ...mailWarning(config) });
  return latchkey;
}

// One app for the isolate; its env, and so its Latchkey, comes with each request. The app's
// Bindings are typed for any runtime; here they are the Worker's (wrangler.toml), hence the cast.
const app = appFindingLatchkey((c) => latchkeyFor(c.env as WorkerEnv));

/**
 * The cron triggers in wrangler.toml: every minute, send what the outbox holds that is due (a mail
 * whose first send failed, or whose isolate went before sending it); hourly, also delete what no
 * request can use any more (lib/storage/purge.ts).
 */
async function scheduled(controller: ScheduledController, env: WorkerEnv): Promise<void> {
  const latchkey = latchkeyFor(env);
  const { log } = latchkey.deps;
  await latchkey.drainOutbox('cron');
  if (controller.cron !== PURGE_CRON) return;
  const removed = await latchkey.purge();
  log('purge', { ...removed, trigger: 'cron' });
}

/**
 * The first layer, when declared, answers before the app: no Latchkey is built and no D1 is asked.
 * Its refusal is logged as the app's per-client one is, with rule `edge`.
 */
async function fetchBehindFirstLayer(request: Request, env: WorkerEnv, ctx: ExecutionContext): Promise<Response> {
  const client = cloudflareClientAddress(request.headers);
  const refusal = await firstLayerRefusal(env.RATE_LIMITER, request, client);
  if (!refusal) return app.fetch(request, env, ctx);
  jsonEventLog()('throttled', { rule: 'edge', retryAfter: Number(refusal.headers.get('Retry-After')), client, path: new URL(request.url).pathname });
  return refusal;
}

/** The Worker's fetch and cron as an object handler: what functions/worker.ts's class calls. */
export const workerHandlers = {
  fetch: fetchBehindFirstLayer,
  scheduled,
} satisfies ExportedHandler<WorkerEnv>;
