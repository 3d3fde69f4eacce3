import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import type { Backend, SchemaEntry } from './backend.ts';
import { schemaQuery } from './schema-query.ts';

const migrations = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));
const schemaSql = readFileSync(fileURLToPath(new URL('../../schema.sql', import.meta.url)), 'utf8');

export const backend: Backend = {
  name: 'node',
  freshDatabase: () => openSqlJsDatabase({ migrations }),
  async schemas() {
    const migrated = await openSqlJsDatabase({ migrations });
    const fromSchema = await openSqlJsDatabase({ migrations: [['schema.sql', schemaSql]] });
    const read = async (db: typeof migrated) => (await db.prepare(schemaQuery).all<SchemaEntry>()).results;
    try {
      return { migrations: await read(migrated), schemaSql: await read(fromSchema) };
    } finally {
      migrated.close();
      fromSchema.close();
    }
  },
};
