import { openSqlJsDatabase } from 'latchkey/node';
import { createApp, type AppOptions } from './app.ts';

/** On Node: sql.js with Latchkey's migrations, in memory; `openSqlJsDatabase({ path: 'data/accounts.sqlite' })` keeps it. */
export async function createNodeApp(options: Omit<AppOptions, 'database'>) {
  return createApp({ ...options, database: await openSqlJsDatabase() });
}
