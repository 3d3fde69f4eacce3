/** What a handler needs from the outside world, gathered in one place so tests can swap any part. */
import type { Config } from './config.ts';
import type { Database } from './db.ts';
import type { EventLog } from './log.ts';
import type { MailSink } from './mail.ts';
import type { PasswordHasher } from './passwords.ts';

export interface Deps {
  db: Database;
  config: Config;
  hasher: PasswordHasher;
  mail: MailSink;
  log: EventLog;
  /** Milliseconds since the epoch. */
  now: () => number;
}
