/** What each test project's `#backend` module provides (see vitest.config.ts). */
import type { Database } from '../../lib/storage/db.ts';

export interface SchemaEntry {
  type: string;
  name: string;
  sql: string;
}

export interface Backend {
  name: 'node' | 'workerd';
  /** An empty database with the migrations applied. */
  freshDatabase(): Promise<Database>;
  /** sqlite_master of the migrated database and of one built from schema.sql. */
  schemas(): Promise<{ migrations: SchemaEntry[]; schemaSql: SchemaEntry[] }>;
}
