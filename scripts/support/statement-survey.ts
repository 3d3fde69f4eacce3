/**
 * What the statement surveys share (bench/recompiled-statements.ts and
 * tests/node-only/sqljs-opaque-parameters.test.ts): a database that writes down every statement run
 * through it with the values it was bound to, and plain sql.js with the schema to look at them on.
 */
import { readFileSync } from 'node:fs';
import initSqlJs, { type Database as SqlJsDb } from 'sql.js';
import type { Database, SqlValue } from '../../lib/storage/db.ts';
import { watched } from './watched-database.ts';

/** SQL text → the values it was first run with. */
export type SeenStatements = Map<string, SqlValue[]>;

/** `db`, with every statement run through it (alone or in a batch) written into `seen`. */
export function recording(db: Database, seen: SeenStatements): Database {
  return watched(db, (sent) => {
    for (const { sql, values } of sent) if (!seen.has(sql)) seen.set(sql, values);
  });
}

/** Plain sql.js, in memory, with the schema and the locking the Node driver uses (lib/storage/sqljs/open.ts). */
export async function schemaDatabase(): Promise<SqlJsDb> {
  const SQL = await initSqlJs();
  const db = new SQL.Database();
  db.run('PRAGMA locking_mode = EXCLUSIVE');
  db.run('PRAGMA journal_mode = MEMORY');
  db.run(readFileSync(new URL('../../schema.sql', import.meta.url), 'utf8'));
  return db;
}
