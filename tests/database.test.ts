import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { hit } from './support/throttle-calls.ts';

describe(`the database boundary (${backend.name})`, () => {
  it('runs a batch all or nothing', async () => {
    const db = await backend.freshDatabase();
    const insert = (hash: string) =>
      db
        .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(hash, 'a@example.com', 'a@example.com', '$scrypt$x', 1, 2);
    const first = 'a'.repeat(64);
    // The second statement breaks the primary key: the first must not survive either.
    await expect(db.batch([insert(first), insert(first)])).rejects.toThrow();
    expect(await db.prepare('SELECT count(*) AS n FROM registrations').first()).toEqual({ n: 0 });
    const results = await db.batch([insert(first), insert('b'.repeat(64))]);
    expect(results.map((r) => r.meta.changes)).toEqual([1, 1]);
  });

  it('enforces the schema’s constraints', async () => {
    const db = await backend.freshDatabase();
    const bad = db
      .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind('short', 'a@example.com', 'a@example.com', '$scrypt$x', 1, 2);
    await expect(bad.run()).rejects.toThrow();
    const strict = db
      .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind('c'.repeat(64), 'a@example.com', 'a@example.com', '$scrypt$x', 'soon', 2);
    await expect(strict.run()).rejects.toThrow();
  });

  it('names each row’s columns as the statement has them now, read after read', async () => {
    const db = await backend.freshDatabase();
    await db.prepare('CREATE TABLE columns_check (a INTEGER, b TEXT)').run();
    await db.prepare("INSERT INTO columns_check VALUES (1, 'x')").run();
    const all = () => db.prepare('SELECT * FROM columns_check').first();
    const renamed = () => db.prepare('SELECT a AS first, b AS second FROM columns_check').first();
    expect(await all()).toEqual({ a: 1, b: 'x' });
    expect(await renamed()).toEqual({ first: 1, second: 'x' });
    expect(await all()).toEqual({ a: 1, b: 'x' });
    // The same text now has another column: a statement kept compiled (sql.js) must say so.
    await db.prepare('ALTER TABLE columns_check ADD COLUMN c TEXT').run();
    expect(await all()).toEqual({ a: 1, b: 'x', c: null });
    expect((await db.prepare('SELECT * FROM columns_check').all()).results).toEqual([{ a: 1, b: 'x', c: null }]);
  });

  it('has foreign keys switched on, as D1 does', async () => {
    const db = await backend.freshDatabase();
    expect(await db.prepare('PRAGMA foreign_keys').first()).toEqual({ foreign_keys: 1 });
  });

  it('reports the rows a statement changed', async () => {
    const db = await backend.freshDatabase();
    const none = await db.prepare('UPDATE accounts SET email = email WHERE id = ?').bind('nope').run();
    expect(none.meta.changes).toBe(0);
  });

  // A Node server's writes that arrive together share one journal fsync (group commit; with a file,
  // tests/node-only/db-sqljs-crash-windows.test.ts): the answers must stay D1's, where each write
  // is its own transaction.
  it('answers concurrent writes as if each ran alone: a failing one fails alone', async () => {
    const db = await backend.freshDatabase();
    const insert = (hash: string) =>
      db
        .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(hash, 'a@example.com', 'a@example.com', '$scrypt$x', 1, 2);
    const results = await Promise.allSettled([
      insert('a'.repeat(64)).run(),
      db.batch([insert('b'.repeat(64)), insert('b'.repeat(64))]),
      insert('c'.repeat(64)).run(),
      db.prepare('UPDATE accounts SET email = email WHERE id = ?').bind('nope').run(),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const { results: rows } = await db.prepare('SELECT token_hash FROM registrations ORDER BY token_hash').all<{ token_hash: string }>();
    expect(rows.map((r) => r.token_hash[0])).toEqual(['a', 'c']);
  });

  it('counts concurrent throttle hits exactly: no more allowed than the limit', async () => {
    const db = await backend.freshDatabase();
    const rule = { limit: 5, windowSeconds: 60 };
    const verdicts = await Promise.all(Array.from({ length: 9 }, () => hit(db, 'client:activate:198.51.100.7', rule, 1000)));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(5);
    expect(verdicts.filter((v) => !v.ok).every((v) => !v.ok && v.retryAfterSeconds === 60)).toBe(true);
    expect(await db.prepare('SELECT hits FROM throttle WHERE key = ?').bind('client:activate:198.51.100.7').first()).toEqual({ hits: 5 });
  });
});
