/**
 * The composition root: the one place where Latchkey's services are built from typed options and
 * put together into the app. Every entry comes in here: the Worker (functions/worker.ts), the Node
 * server (functions/server.ts), the purge script, the tests' harness and the in-process bench. An
 * entry passes what only it can give (the database, where log lines go, the client's address, a
 * transport that needs a binding or node:net); the rest has today's defaults, or comes from the
 * environment's strings through optionsFromEnv, the one adapter from variables to options.
 *
 * It lives in functions/ rather than lib/ because it builds the app, which mounts the endpoints
 * (functions/endpoints/), and lib/ never imports functions/ (docs/architecture.md).
 */
import { createApp } from './app.ts';
import { checkedSession, createApi, guardOutage, verifiedSession, type LatchkeyApi, type SessionCall, type VerifiedSession } from './api.ts';
import { loadConfig, type Config, type ConfigVars } from '../lib/config/config.ts';
import type { MailSettings } from '../lib/config/mail-settings.ts';
import type { BreachedPasswordSettings } from '../lib/policy/breached-passwords.ts';
import type { MiddlewareHandler } from 'hono';
import { courierOf, type Deps } from '../lib/deps.ts';
import { queuedHasher } from '../lib/crypto/hash-queue.ts';
import { createPasswordHasher, type PasswordHasher } from '../lib/crypto/passwords.ts';
import { newKeyBytes, sealerFromKey, type Sealer } from '../lib/crypto/seal.ts';
import { UNKNOWN_CLIENT } from '../lib/http/client-address.ts';
import type { AppContext } from '../lib/http/context.ts';
import { hostSessionGuard, type LatchkeyUser, type LatchkeyVariables, type RequireSessionOptions } from '../lib/http/host-session.ts';
import { userView } from '../lib/http/schemas.ts';
import type { AccountHooks } from '../lib/flows/hooks.ts';
import { logout, presentedSession } from '../lib/flows/sessions.ts';
import { jsonEventLog, type EventLog } from '../lib/log.ts';
import { drainOutbox } from '../lib/mail/courier.ts';
import { developmentMailbox, type Mailbox } from '../lib/mail/mailbox.ts';
import type { MailTransport } from '../lib/mail/transport.ts';
import { chooseTransport } from '../lib/mail/transports/choose.ts';
import { guardDatabase, type Database } from '../lib/storage/db.ts';
import { purge, type PurgeResult } from '../lib/flows/purge.ts';
import { breachCheck } from '../lib/policy/breached-passwords.ts';

/** The settings part of the options: every part of Config but the mode, which PUBLIC_URL decides. */
export type LatchkeySettings = Omit<Config, 'mode'>;

export interface LatchkeyOptions extends Partial<Omit<LatchkeySettings, 'publicUrl' | 'mail' | 'breachedPasswords'>> {
  /** The D1-shaped database (a D1 binding, or sql.js through lib/storage/sqljs/open.ts); guarded here. */
  database: Database;
  /** Origin (and optional path prefix) that links are built from; checked as PUBLIC_URL is. */
  publicUrl: string;
  /** Mail settings; what is left out is what an unset MAIL_* variable gives. */
  mail?: Partial<MailSettings>;
  /** The breached-password lookup; what is left out is what unset BREACHED_PASSWORDS* give (`{ check: 'off' }` turns it off). */
  breachedPasswords?: Partial<BreachedPasswordSettings>;
  /**
   * What carries the mails, or how to make it from the mail settings. Default: the transport the
   * settings name, built as on Node (log lines to console.log, webhook); smtp and cloudflare need
   * what only their entry can pass.
   */
  transport?: MailTransport | ((mail: MailSettings) => MailTransport);
  /** The password hasher under the hash queue. Default: scrypt with the `scrypt` parameters. */
  hasher?: PasswordHasher;
  /** Hashes at once when hashMaxInFlight is unset (the Node server sizes it to its threads). Default 4. */
  hashSlots?: number;
  /** Seals the outbox's bodies. Default: a sealer over `dataKey`. */
  sealer?: Sealer;
  /** Default: mail.dataKey (DATA_KEY), else a key of this instance's own, gone with it. */
  dataKey?: Uint8Array;
  /** Where the mails are kept for GET /dev/mail, in development mode only; false: none at all. Default: a new one in memory. */
  mailbox?: Mailbox | false;
  /** Default: JSON lines to console.log. */
  log?: EventLog;
  /** Milliseconds since the epoch. Default: Date.now. */
  now?: () => number;
  /** The client's address, from what the runtime vouches for (lib/http/client-address.ts). Default: one unknown client for all. */
  clientAddress?: Deps['clientAddress'];
  /** When work after an answer starts (the courier's sends); unset: the next turn of the event loop. */
  later?: Deps['later'];
  /**
   * Called once an account has become active (by its link, over HTTP or the api), after the
   * commit, with the account as GET /session shows it (never a hash). Awaited before the answer,
   * so the host's own row exists when the client hears "active"; a throw is logged as
   * `hook_failed` and the answer stands, since the account is active. The same holds for the others.
   */
  onActivated?: (user: LatchkeyUser) => unknown;
  /** Called once a password has been changed (POST /change-password) or reset (POST /reset-password), after the commit. */
  onPasswordChanged?: (user: LatchkeyUser) => unknown;
  /** Called once an account has been deleted, after the commit: its id and address, all that is left of it. */
  onAccountDeleted?: (account: { id: string; email: string }) => unknown;
  /**
   * Called once an account's address has changed, after the commit: a confirmed change
   * (POST /confirm-email) or its undo (POST /undo-email-change), with the address now and before.
   */
  onEmailChanged?: (change: { id: string; email: string; previousEmail: string }) => unknown;
}

export type LatchkeyApp = ReturnType<typeof createApp>;

export type { LatchkeySession, LatchkeyUser, LatchkeyVariables, RequireSessionOptions } from '../lib/http/host-session.ts';
export type { SessionCall, VerifiedSession } from './api.ts';
export { LatchkeyUnavailableError } from './api.ts';

export interface Latchkey {
  /** The Hono app: every endpoint over these services. */
  readonly app: LatchkeyApp;
  /** The services a request uses; a test may swap a part here. */
  readonly deps: Deps;
  /** The flows without HTTP, with the endpoints' validation, limits and outcomes (functions/api.ts). */
  readonly api: LatchkeyApi;
  /** Deletes what no request can use any more (lib/flows/purge.ts), as of `now` (default: deps.now()). */
  purge(now?: number): Promise<PurgeResult>;
  /** Sends what the outbox holds that is due: one batch (lib/mail/courier.ts). */
  /** `trigger` names the timer or cron in the `outbox_drained` line; a drain that did nothing logs none. */
  drainOutbox(trigger?: 'timer' | 'cron'): ReturnType<typeof drainOutbox>;
  /**
   * Middleware for a host app's own routes: sets `c.var.user` and `c.var.session` for a live
   * session (the bearer token, or the cookie named), as GET /session decides; 401 otherwise.
   */
  requireSession(options?: RequireSessionOptions): MiddlewareHandler<{ Variables: LatchkeyVariables }>;
  /**
   * The account and session a token names, exactly as GET /session's 200 body holds them, decided
   * as GET /session decides (expiry, the hourly slide, session_rejected in the log); null without a
   * live session. For a caller that holds a token but no request: the Worker's RPC entry.
   */
  verifySession(token: string, call?: SessionCall): Promise<VerifiedSession | null>;
  /** Ends the session a token names, as POST /logout does; false when it named no live session. */
  revokeSession(token: string, call?: SessionCall): Promise<boolean>;
}

/** Hash slots when neither hashMaxInFlight nor the entry says: what a small server would have. */
export const DEFAULT_HASH_SLOTS = 4;

/**
 * The options that the variables give (PUBLIC_URL, MAIL_*, LIMIT_*, …: lib/config/config.ts, with
 * the same names and the same refusals), together with the parts only the runtime has.
 */
export function optionsFromEnv<P extends Partial<LatchkeyOptions> = Record<never, never>>(vars: ConfigVars, runtimeParts?: P): LatchkeySettings & P {
  const { mode: _decidedByPublicUrl, ...settings } = loadConfig(vars);
  return { ...settings, ...(runtimeParts as P) };
}

/** Today's defaults: exactly what an environment with only PUBLIC_URL gives, one copy of each. */
function configOf(options: LatchkeyOptions): Config {
  const defaults = loadConfig({ PUBLIC_URL: options.publicUrl });
  const { database, publicUrl, mail, breachedPasswords, transport, hasher, hashSlots, sealer, dataKey, mailbox, log, now, clientAddress, later, onActivated, onPasswordChanged, onAccountDeleted, onEmailChanged, ...settings } =
    options;
  const given = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  const definedIn = <T extends object>(part: T | undefined) => Object.fromEntries(Object.entries(part ?? {}).filter(([, value]) => value !== undefined));
  return {
    ...defaults,
    ...given,
    mail: { ...defaults.mail, ...definedIn(mail) },
    breachedPasswords: { ...defaults.breachedPasswords, ...definedIn(breachedPasswords) },
  };
}

const consoleLine = (line: string) => console.log(line);

export function createLatchkey(options: LatchkeyOptions): Latchkey {
  const config = configOf(options);
  const transport = options.transport ?? ((mail: MailSettings) => chooseTransport(mail, { runtime: 'Node', writeLine: consoleLine }));
  const deps: Deps = {
    db: guardDatabase(options.database),
    config,
    // The queue in front of the hasher bounds the hashes at once and the requests that wait (lib/crypto/hash-queue.ts).
    hasher: queuedHasher(options.hasher ?? createPasswordHasher(config.scrypt), {
      maxInFlight: options.hashSlots ?? config.hashMaxInFlight ?? DEFAULT_HASH_SLOTS,
      maxQueued: config.hashMaxQueued,
    }),
    breachedPasswords: breachCheck(config.breachedPasswords),
    transport: typeof transport === 'function' ? transport(config.mail) : transport,
    sealer: options.sealer ?? sealerFromKey(options.dataKey ?? config.mail.dataKey ?? newKeyBytes()),
    mailbox: options.mailbox === false ? undefined : developmentMailbox(config, options.mailbox),
    log: options.log ?? jsonEventLog(),
    now: options.now ?? Date.now,
    clientAddress: options.clientAddress ?? (() => UNKNOWN_CLIENT),
    hooks: hooksOf(options),
    ...(options.later ? { later: options.later } : {}),
  };
  const api = createApi(deps);
  // Built when first asked for: the Worker serves its own app (appFindingLatchkey), and the purge script none.
  let app: LatchkeyApp | undefined;
  return {
    get app() {
      return (app ??= createApp(() => deps));
    },
    deps,
    api,
    purge: (now = deps.now()) => purge(deps.db, now, deps.config.purgeGraceSeconds, deps.config.sessions),
    drainOutbox: (trigger) => drainOutbox(courierOf(deps), trigger),
    requireSession: (sessionOptions) => hostSessionGuard(deps, sessionOptions),
    async verifySession(token, call) {
      const log = rpcLog(deps, call);
      const checked = await guardOutage(log, () => checkedSession(deps, log, token));
      return checked ? verifiedSession(checked.session) : null;
    },
    async revokeSession(token, call) {
      const log = rpcLog(deps, call);
      return guardOutage(log, async () => {
        // A caller over RPC is not typed: anything but a string is a missing token, never a thrown error.
        const bearer = presentedSession(typeof token === 'string' ? token : undefined, null);
        const outcome = await logout({ db: deps.db, config: deps.config, log }, bearer, deps.now());
        return outcome.kind === 'ended';
      });
    },
  };
}

const rpcLog = (deps: Deps, call: SessionCall = {}): EventLog => (event, fields) => deps.log(event, { ...fields, ...call.logFields });

/**
 * The host's hooks as the flows call them (lib/flows/hooks.ts): each sees the account's public
 * view, made here from what the flow hands over, so that no hook can be given a hash.
 */
function hooksOf({ onActivated, onPasswordChanged, onAccountDeleted, onEmailChanged }: LatchkeyOptions): AccountHooks {
  return {
    ...(onActivated && { onActivated: (account) => onActivated(userView(account)) }),
    ...(onPasswordChanged && { onPasswordChanged: (account) => onPasswordChanged(userView(account)) }),
    ...(onAccountDeleted && { onAccountDeleted: ({ id, email }) => onAccountDeleted({ id, email }) }),
    ...(onEmailChanged && { onEmailChanged: ({ id, email, previousEmail }) => onEmailChanged({ id, email, previousEmail }) }),
  };
}

/**
 * One app whose Latchkey is found for each request, for a runtime that hands its settings to every
 * request rather than once at start (a Worker's env). Finding it, and any refusal of a setting,
 * happen inside the app, so a setting that cannot work is answered as any other failure is.
 */
export function appFindingLatchkey(find: (c: AppContext) => Latchkey): LatchkeyApp {
  return createApp((c) => find(c).deps);
}
