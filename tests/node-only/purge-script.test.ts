/** `npm run purge` against a database file: it purges, and refuses while a server holds the file. */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const migrations = readMigrations(join(root, 'migrations'));
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function runPurge(databasePath: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--disable-warning=ExperimentalWarning', join(root, 'scripts/purge.ts')],
      { cwd: root, env: { ...process.env, DATABASE_PATH: databasePath } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const HASH = `$scrypt$ln=4,r=8,p=1$${'A'.repeat(22)}$${'B'.repeat(43)}`;
const LONG_AGO = Date.UTC(2020, 0, 1);

async function seed(path: string) {
  const db = await openSqlJsDatabase({ path, migrations });
  await db.batch([
    db
      .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind('00000000-0000-4000-8000-000000000001', 'old@example.com', 'old@example.com', HASH, LONG_AGO, LONG_AGO),
    db
      .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .bind('a'.repeat(64), 'old@example.com', 'old@example.com', HASH, LONG_AGO, LONG_AGO + 1000, LONG_AGO),
    db
      .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind('b'.repeat(64), 'gone@example.com', 'gone@example.com', HASH, LONG_AGO, LONG_AGO + 1000),
    db.prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, ?)').bind('mail:gone@example.com', LONG_AGO),
  ]);
  return db;
}

describe('npm run purge', () => {
  it('purges the file and keeps the account', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-purge-'));
    dirs.push(dir);
    const path = join(dir, 'accounts.sqlite');
    (await seed(path)).close();

    const run = await runPurge(path);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout.trim())).toMatchObject({ event: 'purge', registrations: 2, throttle: 1, trigger: 'script' });

    const db = await openSqlJsDatabase({ path, migrations });
    expect(await db.prepare('SELECT email FROM accounts').all()).toEqual({ results: [{ email: 'old@example.com' }] });
    expect(await db.prepare('SELECT count(*) AS n FROM registrations').first()).toEqual({ n: 0 });
    db.close();
  });

  it('refuses, clearly and without touching the file, while a server holds it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-purge-'));
    dirs.push(dir);
    const path = join(dir, 'accounts.sqlite');
    const held = await seed(path); // this test process plays the running server
    try {
      const run = await runPurge(path);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/purge: refused\. Database .* is in use by process \d+/);
      expect(run.stderr).toMatch(/purges this database itself/);
      expect(await held.prepare('SELECT count(*) AS n FROM registrations').first()).toEqual({ n: 2 });
    } finally {
      held.close();
    }
  });

  it('is also done by the running server itself, at start and then on a timer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-purge-'));
    dirs.push(dir);
    const path = join(dir, 'accounts.sqlite');
    (await seed(path)).close();
    const server = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(root, 'functions/server.ts')], {
      cwd: root,
      env: { ...process.env, DATABASE_PATH: path, PORT: '0', HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const events: Array<Record<string, unknown>> = [];
    let buffered = '';
    const purged = new Promise<void>((resolve, reject) => {
      server.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString('utf8');
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          if (event.event === 'purge') resolve();
        }
      });
      server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
    });
    try {
      await purged;
    } finally {
      const exited = new Promise((r) => server.on('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    expect(events.find((e) => e.event === 'purge')).toMatchObject({ registrations: 2, throttle: 1, trigger: 'timer' });
  });
});
