/**
 * Schema migrations on sql.js, named and ordered as D1 names and orders them, each applied once
 * and recorded in the database it changed, in one transaction with its change.
 */
import * as nodeFs from 'node:fs';
import { join } from 'node:path';
import type { Database as SqlJsDb } from 'sql.js';
import { DatabaseFileError } from './files.ts';
import { rollbackQuietly } from './statements.ts';

/** The migrations in a folder, as [file name, SQL], in file-name order (D1's convention). */
export function readMigrations(dir: string): Array<[string, string]> {
  return nodeFs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.sql'))
    .sort()
    .map((name) => [name, nodeFs.readFileSync(join(dir, name), 'utf8')]);
}

/** Applies the migrations the database has not had yet; true if it had any. */
export function applyMigrations(db: SqlJsDb, migrations: Array<[string, string]>, where: string): boolean {
  db.run('CREATE TABLE IF NOT EXISTS latchkey_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT');
  const applied = new Set((db.exec('SELECT name FROM latchkey_migrations')[0]?.values ?? []).map((row) => String(row[0])));
  let any = false;
  for (const [name, sql] of migrations) {
    if (applied.has(name)) continue;
    db.run('BEGIN IMMEDIATE');
    try {
      db.exec(sql);
      db.run('INSERT INTO latchkey_migrations (name, applied_at) VALUES (?, ?)', [name, Date.now()]);
      db.run('COMMIT');
    } catch (error) {
      rollbackQuietly(db);
      throw new DatabaseFileError(`Migration ${name} failed on ${where}: ${String(error)}`);
    }
    any = true;
  }
  return any;
}
