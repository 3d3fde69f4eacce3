import { applyD1Migrations, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { Backend, SchemaEntry } from './backend.ts';
import { schemaQuery } from './schema-query.ts';

export const backend: Backend = {
  name: 'workerd',
  async freshDatabase() {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    return env.DB;
  },
  async schemas() {
    await reset();
    await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
    // D1's exec() takes one statement per line; schema.sql spreads statements over lines.
    const statements = env.TEST_SCHEMA_SQL.replace(/--.*$/gm, '')
      .split(';')
      .map((s) => s.replace(/\s+/g, ' ').trim())
      .filter(Boolean);
    await env.SCHEMA_DB.batch(statements.map((s) => env.SCHEMA_DB.prepare(s)));
    const read = async (db: D1Database) => (await db.prepare(schemaQuery).all<SchemaEntry>()).results;
    return { migrations: await read(env.DB), schemaSql: await read(env.SCHEMA_DB) };
  },
};
