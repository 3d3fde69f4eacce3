/**
 * Fills a sql.js database file through lib/storage/sqljs/open.ts before the server starts, so that the
 * benchmark can begin with 100,000 accounts without registering them one by one. The bulk rows
 * come from one INSERT … SELECT over a counter each, which journals as one short entry.
 */
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readMigrations } from '../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../lib/storage/sqljs/open.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { pendingEmail } from './pending-link.ts';

const MIGRATIONS = readMigrations(fileURLToPath(new URL('../migrations', import.meta.url)));
const DAY_MS = 24 * 60 * 60 * 1000;

export interface SeedSpec {
  path: string;
  /** Active accounts user<i>@seed.example, each with the registration that made it (consumed). */
  accounts: number;
  /** Password hash shared by those accounts (any valid scrypt string). */
  accountHash: string;
  /** Further active accounts with their own hashes (the login benchmark's account). */
  named?: Array<{ email: string; passwordHash: string }>;
  /** Pending registrations, one per token, pendingEmail(j), valid for a week. */
  pendingTokens?: string[];
}

export interface Seeded {
  accounts: number;
  /** Time to write one snapshot of the seeded database (export, write, fsync, rename). */
  snapshotMs: number;
  snapshotBytes: number;
}

const COUNTER = 'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)';

export async function seedDatabase(spec: SeedSpec): Promise<Seeded> {
  const db = await openSqlJsDatabase({ path: spec.path, migrations: MIGRATIONS });
  try {
    const now = Date.now();
    const created = now - DAY_MS;
    if (spec.accounts > 0) {
      await db.batch([
        db
          .prepare(
            `${COUNTER} INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at)
             SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'user' || i || '@seed.example', 'user' || i || '@seed.example', ?, ?, ? FROM n`,
          )
          .bind(spec.accounts, spec.accountHash, created, created + 1000),
        db
          .prepare(
            `${COUNTER} INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at, consumed_at)
             SELECT printf('%064x', i), 'user' || i || '@seed.example', 'user' || i || '@seed.example', ?, ?, ?, ? FROM n`,
          )
          .bind(spec.accounts, spec.accountHash, created, created + DAY_MS, created + 1000),
      ]);
    }
    const named = (spec.named ?? []).map((account, index) =>
      db
        .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(`ffffffff-0000-4000-8000-${String(index).padStart(12, '0')}`, account.email, account.email.toLowerCase(), account.passwordHash, created, created + 1000),
    );
    const pending = (spec.pendingTokens ?? []).map((token, index) =>
      db
        .prepare('INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(tokenDigest(token), pendingEmail(index), pendingEmail(index), spec.accountHash, now, now + 7 * DAY_MS),
    );
    if (named.length + pending.length > 0) await db.batch([...named, ...pending]);
    const count = await db.prepare('SELECT count(*) AS n FROM accounts').first<{ n: number }>();
    const t = performance.now();
    db.snapshot();
    const snapshotMs = performance.now() - t;
    return { accounts: count?.n ?? 0, snapshotMs, snapshotBytes: statSync(spec.path).size };
  } finally {
    db.close();
  }
}

/** The same rows as SQL for `wrangler d1 execute --file` (local D1 for wrangler dev). */
export function seedSql(spec: Omit<SeedSpec, 'path'>): string {
  const now = Date.now();
  const created = now - DAY_MS;
  const q = (s: string) => `'${s.replaceAll("'", "''")}'`;
  const lines = (spec.named ?? []).map(
    (a, index) =>
      `INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (${q(`ffffffff-0000-4000-8000-${String(index).padStart(12, '0')}`)}, ${q(a.email)}, ${q(a.email.toLowerCase())}, ${q(a.passwordHash)}, ${created}, ${created + 1000});`,
  );
  if (spec.accounts > 0) {
    lines.push(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${spec.accounts}) INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) SELECT printf('%08x-0000-4000-8000-%012x', i, i), 'user' || i || '@seed.example', 'user' || i || '@seed.example', ${q(spec.accountHash)}, ${created}, ${created + 1000} FROM n;`,
    );
  }
  (spec.pendingTokens ?? []).forEach((token, index) =>
    lines.push(
      `INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at) VALUES (${q(tokenDigest(token))}, ${q(pendingEmail(index))}, ${q(pendingEmail(index))}, ${q(spec.accountHash)}, ${now}, ${now + 7 * DAY_MS});`,
    ),
  );
  return `${lines.join('\n')}\n`;
}
