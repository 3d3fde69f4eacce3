import { applyD1Migrations, reset } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import type { Backend, SchemaEntry } from './backend.ts';
import { schemaQuery } from './schema-query.ts';

// D1's own tables (_cf_METADATA) come with the database object, not with a test.
const tablesIn = async (db: D1Database) =>
  (await db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '/_cf/_%' ESCAPE '/'").first<{ n: number }>())!.n;

/**
 * Empties the given D1 databases of the project's Miniflare, which the test files a worker runs
 * share (vitest.config.ts). reset() deletes the storage of every Durable Object, D1's databases
 * among them, but a database that had sat idle, as between two test files, sometimes came through
 * it with its tables and rows: a file's first test then found the previous file's registrations.
 * Right after a query, reset() emptied it every time; so each is asked something first, and the
 * count after fails the test loudly if that ever stops being enough.
 */
async function emptied(...databases: D1Database[]): Promise<void> {
  await Promise.all(databases.map((db) => db.prepare('SELECT 1').first()));
  await reset();
  const left = await Promise.all(databases.map(tablesIn));
  if (left.some((n) => n > 0)) throw new Error(`reset() left tables in a D1 database (${left.join(', ')}): a test would see another test's rows`);
}

/**
 * What applyD1Migrations() leaves (every migration's statements, and its name in d1_migrations as
 * the helper writes it), in one batch instead of two trips and one batch per migration: 12 trips
 * were most of a fresh database's time, and the workerd tests make thousands of them. schemas()
 * runs the helper itself, so the migrations are still checked the way it applies them.
 */
async function migrateInOneBatch(db: D1Database): Promise<void> {
  const statements = [
    db.prepare('CREATE TABLE d1_migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE, applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL)'),
  ];
  for (const migration of env.TEST_MIGRATIONS) {
    statements.push(...migration.queries.map((query) => db.prepare(query)));
    statements.push(db.prepare('INSERT INTO d1_migrations (name) VALUES (?)').bind(migration.name));
  }
  await db.batch(statements);
}

/** An empty database with the migrations applied: the start of every workerd test. */
async function freshD1(): Promise<D1Database> {
  await emptied(env.DB);
  await migrateInOneBatch(env.DB);
  return env.DB;
}

export const backend: Backend = {
  name: 'workerd',
  freshDatabase: freshD1,
  async schemas() {
    await emptied(env.DB, env.SCHEMA_DB);
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
