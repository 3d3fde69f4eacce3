/**
 * The package's Node entry ('latchkey/node'): a sql.js database with Latchkey's migrations
 * applied, for a host app on Node, and the server that `npm start` runs. Apart from the main entry
 * because sql.js and node:fs have no place in a Worker's bundle.
 */
import { fileURLToPath } from 'node:url';
import type { Database } from '../lib/storage/db.ts';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase as openWithMigrations } from '../lib/storage/sqljs/open.ts';

export { main, nodeClientAddress } from './server.ts';

// Beside this file's folder in the sources (functions/) and in the build (dist/functions/, which
// the build gives its own copy of migrations/).
const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

export interface OpenDatabaseOptions {
  /** The database file, with its journal and lock beside it; omit for one in memory, gone on exit. */
  path?: string;
}

/** A database ready for createLatchkey({ database }): opened, locked if a file, and migrated. */
export async function openSqlJsDatabase(options: OpenDatabaseOptions = {}): Promise<Database & { close(): void }> {
  return openWithMigrations({ ...options, migrations: readMigrations(MIGRATIONS_DIR) });
}
