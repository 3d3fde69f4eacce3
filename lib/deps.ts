/** What a handler needs from the outside world, gathered in one place so tests can swap any part. */
import type { Context } from 'hono';
import type { Config } from './config/config.ts';
import type { Database } from './storage/db.ts';
import type { EventLog } from './log.ts';
import type { MailSink } from './mail/mail.ts';
import type { Mailbox } from './mail/mailbox.ts';
import type { PasswordHasher } from './crypto/passwords.ts';

export interface Deps {
  db: Database;
  config: Config;
  hasher: PasswordHasher;
  mail: MailSink;
  /** The mails sent since start, for GET /dev/mail: development mode only (lib/mail/mailbox.ts). */
  mailbox?: Mailbox;
  log: EventLog;
  /** Milliseconds since the epoch. */
  now: () => number;
  /**
   * The client's address, from what the runtime vouches for (lib/http/client-address.ts); a plain
   * function of the request so that tests, which have no socket, can choose it.
   */
  clientAddress: (c: Context) => string;
}
