/** What a handler needs from the outside world, gathered in one place so tests can swap any part. */
import type { Context } from 'hono';
import type { Config } from './config/config.ts';
import type { Database } from './storage/db.ts';
import type { EventLog } from './log.ts';
import type { CourierServices } from './mail/courier.ts';
import type { MailTransport } from './mail/transport.ts';
import type { Sealer } from './crypto/seal.ts';
import type { Mailbox } from './mail/mailbox.ts';
import type { PasswordHasher } from './crypto/passwords.ts';
import type { AccountHooks } from './flows/hooks.ts';
import type { BreachCheck } from './policy/breached-passwords.ts';

export interface Deps {
  db: Database;
  config: Config;
  hasher: PasswordHasher;
  /** Whether a chosen password is known from breaches (lib/policy/breached-passwords.ts); its cache lives as long as these deps. */
  breachedPasswords: BreachCheck;
  /** Carries the outbox's mails to people (lib/mail/transport.ts); chosen by MAIL_TRANSPORT. */
  transport: MailTransport;
  /** Seals what is kept at rest, the outbox's bodies (lib/crypto/seal.ts), with DATA_KEY. */
  sealer: Sealer;
  /** The mails sent since start, for GET /dev/mail: development mode only (lib/mail/mailbox.ts). */
  mailbox?: Mailbox;
  log: EventLog;
  /** Milliseconds since the epoch. */
  now: () => number;
  /**
   * Starts work that must wait for the answer (the courier's sends); the promise settles when the
   * work has. Unset: on the next turn of the event loop (lib/http/after-response.ts). Tests set it
   * to decide themselves when that work runs.
   */
  later?: (work: () => Promise<unknown>) => Promise<unknown>;
  /**
   * The client's address, from what the runtime vouches for (lib/http/client-address.ts); a plain
   * function of the request so that tests, which have no socket, can choose it.
   */
  clientAddress: (c: Context) => string;
  /** The host app's hooks (lib/flows/hooks.ts), each called after the commit it tells of; none by default. */
  hooks: AccountHooks;
}

/** What the courier (lib/mail/courier.ts) needs of the deps: after a request, on a timer, from cron. */
export function courierOf(deps: Deps): CourierServices {
  const { db, sealer, transport, config, log, now, mailbox } = deps;
  return { db, sealer, transport, settings: config.mail, log, now, mailbox };
}
