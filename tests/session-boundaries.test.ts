// The guards that live inside the session statements (lib/flows/sessions.ts, lib/storage/sessions.ts and
// lib/storage/account-changes.ts), each at the edge of one condition while the others hold, asserting
// on what the statement did to the database (the pattern of tests/statement-boundaries.test.ts).
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { Account } from '../lib/storage/accounts.ts';
import { changePasswordBatch, deleteAccountStatements } from '../lib/storage/account-changes.ts';
import type { Database } from '../lib/storage/db.ts';
import { authenticate, endedBefore, newSession, slideSession, SLIDE_EVERY_SECONDS, type SessionPolicy } from '../lib/flows/sessions.ts';
import { endEverySession, revokeAccountSession } from '../lib/storage/sessions.ts';
import { dump } from './support/harness.ts';

const T0 = Date.UTC(2026, 0, 1);
const HOUR = SLIDE_EVERY_SECONDS * 1000;
const POLICY = { idleSeconds: 7200, maxSeconds: 4 * 3600 };
/** Ends `targetId` on the word of session `askingId` (of the same account, or nothing happens), with no token guard. */
const revokeSession = (db: Database, askingId: string, targetId: string, policy: SessionPolicy, now: number) =>
  revokeAccountSession(db, askingId, targetId, now, endedBefore(policy, now), { sql: '1', values: [] });
const account = (id: string, emailKey: string): Account => ({ id, email: emailKey, emailKey, passwordHash: '$scrypt$a', createdAt: T0, activatedAt: T0 });
const A = account('11111111-1111-4111-8111-111111111111', 'a@example.com');
const B = account('22222222-2222-4222-8222-222222222222', 'b@example.com');

async function withAccounts(): Promise<Database> {
  const db = await backend.freshDatabase();
  for (const a of [A, B]) {
    await db
      .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
      .bind(a.id, a.email, a.emailKey, a.passwordHash, T0, T0)
      .run();
  }
  return db;
}

async function session(db: Database, accountId: string, at = T0) {
  const s = newSession(db, accountId, '192.0.2.1', POLICY, at);
  await db.batch([s.statement]);
  return s.issued;
}

const row = (db: Database, id: string) =>
  db.prepare('SELECT last_seen_at AS lastSeen, revoked_at AS revokedAt FROM sessions WHERE id = ?').bind(id).first();

describe(`session statements, one condition at a time (${backend.name})`, () => {
  it('a session is live one millisecond before its idle end and ended at it; the absolute end holds however recently it was seen', async () => {
    const db = await withAccounts();
    const s = await session(db, A.id);
    expect((await authenticate(db, s.token, POLICY, T0 + 7200_000 - 1)).ok).toBe(true);
    expect(await authenticate(db, s.token, POLICY, T0 + 7200_000)).toEqual({ ok: false, reason: 'expired' });
    await db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ?').bind(T0 + 4 * HOUR - 1, s.id).run();
    expect((await authenticate(db, s.token, POLICY, T0 + 4 * HOUR - 1)).ok).toBe(true);
    expect(await authenticate(db, s.token, POLICY, T0 + 4 * HOUR)).toEqual({ ok: false, reason: 'expired' });
  });

  it('slides only once "last seen" is a full hour old, only a live session, and not past the absolute end', async () => {
    const db = await withAccounts();
    const s = await session(db, A.id);
    const seen = { id: s.id, accountId: A.id, client: 'x', createdAt: T0, lastSeenAt: T0, revokedAt: null, mfa: 0 };
    expect(slideSession(db, seen, T0 + HOUR - 1)).toBeNull();
    const before = await dump(db);
    // Due by the caller's reading, but another request already wrote: the guard writes nothing.
    await db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ?').bind(T0 + 1, s.id).run();
    expect((await slideSession(db, seen, T0 + HOUR)!.run()).meta.changes).toBe(0);
    await db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ?').bind(T0, s.id).run();
    expect(await dump(db)).toBe(before);
    expect((await slideSession(db, seen, T0 + 3 * HOUR)!.run()).meta.changes).toBe(1);
    expect(await row(db, s.id)).toEqual({ lastSeen: T0 + 3 * HOUR, revokedAt: null });
    expect(await authenticate(db, s.token, POLICY, T0 + 4 * HOUR)).toEqual({ ok: false, reason: 'expired' });
    await revokeSession(db, s.id, s.id, POLICY, T0 + 3 * HOUR).run();
    expect((await slideSession(db, { ...seen, lastSeenAt: T0 + 3 * HOUR }, T0 + 4 * HOUR)!.run()).meta.changes).toBe(0);
  });

  it('revoking needs a session of the same account and a live one; ending every session spares the one named, and other accounts', async () => {
    const db = await withAccounts();
    const [a1, a2, a3, b1] = [await session(db, A.id), await session(db, A.id), await session(db, A.id), await session(db, B.id)];
    expect((await revokeSession(db, b1.id, a1.id, POLICY, T0).run()).meta.changes).toBe(0);
    expect((await revokeSession(db, a1.id, a1.id, POLICY, T0).run()).meta.changes).toBe(1);
    expect((await revokeSession(db, a1.id, a1.id, POLICY, T0 + 5).run()).meta.changes).toBe(0);
    expect(await row(db, a1.id)).toMatchObject({ revokedAt: T0 });
    expect((await endEverySession(db, A.id, T0 + 9, { except: a3.id }).run()).meta.changes).toBe(1);
    expect(await row(db, a2.id)).toMatchObject({ revokedAt: T0 + 9 });
    expect(await row(db, a3.id)).toMatchObject({ revokedAt: null });
    expect(await row(db, b1.id)).toMatchObject({ revokedAt: null });
    expect((await endEverySession(db, A.id, T0 + 10, { whileHash: '$scrypt$other' }).run()).meta.changes).toBe(0);
  });

  it('revoking a session that the policy has ended changes nothing: at its idle end and at its absolute end, to the millisecond', async () => {
    const db = await withAccounts();
    const [idle, idleLive, old, oldLive] = [await session(db, A.id), await session(db, A.id), await session(db, A.id), await session(db, A.id)];
    expect((await revokeSession(db, idle.id, idle.id, POLICY, T0 + 2 * HOUR).run()).meta.changes).toBe(0);
    expect((await revokeSession(db, idleLive.id, idleLive.id, POLICY, T0 + 2 * HOUR - 1).run()).meta.changes).toBe(1);
    for (const s of [old, oldLive]) await db.prepare('UPDATE sessions SET last_seen_at = ? WHERE id = ?').bind(T0 + 4 * HOUR - 1, s.id).run();
    expect((await revokeSession(db, old.id, old.id, POLICY, T0 + 4 * HOUR).run()).meta.changes).toBe(0);
    expect((await revokeSession(db, oldLive.id, oldLive.id, POLICY, T0 + 4 * HOUR - 1).run()).meta.changes).toBe(1);
    expect(await row(db, idle.id)).toMatchObject({ revokedAt: null });
    expect(await row(db, old.id)).toMatchObject({ revokedAt: null });
  });

  it('a password change writes nothing when the hash is no longer the verified one, or the asking session has ended', async () => {
    const db = await withAccounts();
    const [mine, other] = [await session(db, A.id), await session(db, A.id)];
    const stale = changePasswordBatch(db, { account: { ...A, passwordHash: '$scrypt$stale' }, sessionId: mine.id, newHash: '$scrypt$new' }, T0);
    const before = await dump(db);
    expect(stale.changed(await db.batch(stale.statements))).toEqual({ changed: false, sessionsEnded: 0 });
    expect(await dump(db)).toBe(before);
    await revokeSession(db, mine.id, mine.id, POLICY, T0).run();
    const ended = changePasswordBatch(db, { account: A, sessionId: mine.id, newHash: '$scrypt$new' }, T0);
    const afterLogout = await dump(db);
    expect(ended.changed(await db.batch(ended.statements))).toEqual({ changed: false, sessionsEnded: 0 });
    expect(await dump(db)).toBe(afterLogout);
    const ok = changePasswordBatch(db, { account: A, sessionId: other.id, newHash: '$scrypt$new' }, T0);
    expect(ok.changed(await db.batch(ok.statements))).toEqual({ changed: true, sessionsEnded: 0 });
  });

  it('deleting an account writes nothing when its hash changed since it was verified, and touches no other account\'s rows', async () => {
    const db = await withAccounts();
    await session(db, A.id);
    await session(db, B.id);
    await db.prepare("INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES ('mail:a@example.com:from:c', 1, 0, ?), ('mail:a@example.com.evil:from:c', 1, 0, ?)").bind(T0 + HOUR, T0 + HOUR).run();
    // A reset link of each account: A's goes with A (its row references the account), B's stays.
    await db
      .prepare('INSERT INTO password_resets (token_hash, account_id, created_at, expires_at) VALUES (?, ?, ?, ?), (?, ?, ?, ?)')
      .bind('a'.repeat(64), A.id, T0, T0 + HOUR, 'b'.repeat(64), B.id, T0, T0 + HOUR)
      .run();
    const before = await dump(db);
    const stale = await db.batch(deleteAccountStatements(db, { ...A, passwordHash: '$scrypt$stale' }));
    expect(stale.every((r) => r.meta.changes === 0)).toBe(true);
    expect(await dump(db)).toBe(before);
    const done = await db.batch(deleteAccountStatements(db, A));
    // devices, registrations, throttle, sessions, resets, changes of address, the three second-factor tables, the account.
    expect(done.map((r) => r.meta.changes)).toEqual([0, 0, 1, 1, 1, 0, 0, 0, 0, 1]);
    expect((await db.prepare('SELECT account_id AS a FROM password_resets').all<{ a: string }>()).results.map((r) => r.a)).toEqual([B.id]);
    const keys = (await db.prepare('SELECT key FROM throttle').all<{ key: string }>()).results.map((r) => r.key);
    expect(keys).toEqual(['mail:a@example.com.evil:from:c']);
    expect(await db.prepare('SELECT count(*) AS n FROM sessions').first()).toEqual({ n: 1 });
  });
});
