/**
 * `npm run purge`: the same cleanup as the server's timer and the Workers cron trigger, run once
 * against the sql.js file at DATABASE_PATH.
 *
 * sql.js holds the whole database in the server's memory, so a second process must not write the
 * file behind a running server's back. The file's lock decides: while `npm start` runs, this
 * refuses with a message and exit code 2 (the server purges by itself every
 * PURGE_INTERVAL_SECONDS anyway).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../lib/config/config.ts';
import { DatabaseInUseError } from '../lib/storage/sqljs/lock.ts';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../lib/storage/sqljs/open.ts';
import { jsonEventLog } from '../lib/log.ts';
import { purge } from '../lib/flows/purge.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

async function main(env: NodeJS.ProcessEnv): Promise<number> {
  const path = resolve(env.DATABASE_PATH ?? './data/accounts.sqlite');
  if (!existsSync(path)) {
    console.error(`purge: no database at ${path} (set DATABASE_PATH); nothing to do.`);
    return 0;
  }
  // Links are not built here, but loadConfig insists on a PUBLIC_URL; any will do.
  const config = loadConfig({ ...env, PUBLIC_URL: env.PUBLIC_URL || 'http://localhost' });
  let database;
  try {
    database = await openSqlJsDatabase({ path, migrations: readMigrations(MIGRATIONS_DIR) });
  } catch (error) {
    if (error instanceof DatabaseInUseError) {
      console.error(
        `purge: refused. ${error.message}\n` +
          `The running server purges this database itself every ${config.purgeIntervalSeconds} seconds (PURGE_INTERVAL_SECONDS).`,
      );
      return 2;
    }
    throw error;
  }
  try {
    const removed = await purge(database, Date.now(), config.purgeGraceSeconds, config.sessions);
    jsonEventLog()('purge', { ...removed, trigger: 'script' });
  } finally {
    database.close();
  }
  return 0;
}

main(process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`purge: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
