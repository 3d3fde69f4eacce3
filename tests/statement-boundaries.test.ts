// The atomic guards that live inside SQL (throttle windows and back-off, registrations, activation,
// device tokens), each at the edge of one condition while the others hold: a window at its exact
// end, a hit at the limit, a registration at its expiry, a consumed one, an account that exists, a
// device token at its expiry or its last allowed failure. Each case asserts on what the statement
// did to the database, so that a guard that lets one more attempt in, or writes when it refuses,
// shows up here even though mutation testing cannot reach inside a SQL string.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import {
  activateRegistration,
  addRegistration,
  latestRegistration,
  renewal,
  replacePasswordHash,
} from '../lib/storage/accounts.ts';
import type { Database } from '../lib/storage/db.ts';
import { DEVICES_PER_ACCOUNT } from '../lib/config/device-settings.ts';
import { chargedDevice, deviceCharge, deviceTrusted, newDevice } from '../lib/storage/devices.ts';
import type { DevicePolicy } from '../lib/config/device-settings.ts';
import { allOf, rowsOf, runBatch } from '../lib/storage/db.ts';
import { addPasswordReset, commitReset } from '../lib/storage/resets.ts';
import { DEFAULT_SESSIONS } from '../lib/config/session-settings.ts';
import { newSession } from '../lib/flows/sessions.ts';
import { keys, mailCharges, mailVerdict } from '../lib/storage/throttle.ts';
import { chargeLoginAttempt, chargeMail, hit } from './support/throttle-calls.ts';
import { newToken, tokenDigest } from '../lib/crypto/tokens.ts';
import { dump } from './support/harness.ts';

/** addRegistration's statement run on its own: true if it stored the row. */
const storeRegistration = async (...args: Parameters<typeof addRegistration>) => (await addRegistration(...args).run()).meta.changes === 1;

const T0 = Date.UTC(2026, 0, 1);
const HASH_A = '$scrypt$a';
const HASH_B = '$scrypt$b';
const ID_1 = '11111111-1111-4111-8111-111111111111';
const ID_2 = '22222222-2222-4222-8222-222222222222';
const ID_3 = '33333333-3333-4333-8333-333333333333';

/**
 * The device's charge as the login's first batch runs it, with deviceTrusted() read just before it:
 * the condition that guards the address's back-off must agree with the charge at every edge.
 */
async function chargeDevice(db: Database, digest: string, emailKey: string, policy: DevicePolicy, now: number) {
  const trusted = deviceTrusted(digest, emailKey, policy, now);
  const done = await runBatch(db, {
    trusted: db.prepare(`SELECT ${trusted.sql} AS yes`).bind(...trusted.values),
    charge: deviceCharge(db, digest, emailKey, policy, now, { sql: '1', values: [] }),
  });
  const charged = chargedDevice(done.charge, digest);
  expect(rowsOf<{ yes: number }>(done.trusted)[0]?.yes === 1).toBe(charged !== null);
  return charged;
}

const row = (db: Database, key: string) =>
  db.prepare('SELECT hits, wait_until AS waitUntil, forget_at AS forgetAt FROM throttle WHERE key = ?').bind(key).first();

async function addAccount(db: Database, id: string, emailKey: string, hash = HASH_A) {
  await db
    .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
    .bind(id, emailKey, emailKey, hash, T0, T0)
    .run();
}

async function addDevice(db: Database, tokenHash: string, accountId: string, expiresAt: number, failures = 0) {
  await db
    .prepare('INSERT INTO devices (id, token_hash, account_id, failures, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
    .bind(tokenHash.slice(0, 22), tokenHash, accountId, failures, T0, expiresAt)
    .run();
}

const digestOf = (n: number) => tokenDigest(`token-${n}`);
// As lib/flows/resend-activation.ts commits a renewal: in a batch, read from its own result.
const renewed = async (db: Database, emailKey: string, link: { tokenHash: string; createdAt: number; expiresAt: number }) =>
  (await db.batch([renewal(db, emailKey, link)]))[0]?.meta.changes === 1;
const registration = (n: number, emailKey: string, createdAt = T0, expiresAt = T0 + 3_600_000, hash = HASH_A) => ({
  tokenHash: digestOf(n),
  email: emailKey,
  emailKey,
  passwordHash: hash,
  createdAt,
  expiresAt,
});

describe(`a fixed window, one condition at a time (${backend.name})`, () => {
  const rule = { limit: 3, windowSeconds: 60 };

  it('counts the hit that reaches the limit, refuses the next without writing, and says how long', async () => {
    const db = await backend.freshDatabase();
    for (let i = 1; i <= 3; i++) {
      expect(await hit(db, 'k', rule, T0 + i)).toEqual({ ok: true });
      expect(await row(db, 'k')).toEqual({ hits: i, waitUntil: 0, forgetAt: T0 + 1 + 60_000 });
    }
    const before = await dump(db);
    expect(await hit(db, 'k', rule, T0 + 30_001)).toEqual({ ok: false, retryAfterSeconds: 30 });
    expect(await dump(db)).toBe(before);
  });

  it('is still closed one millisecond before its end and starts afresh exactly at its end', async () => {
    const db = await backend.freshDatabase();
    for (let i = 0; i < 3; i++) await hit(db, 'k', rule, T0);
    const end = T0 + 60_000;
    expect(await hit(db, 'k', rule, end - 1)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(await row(db, 'k')).toEqual({ hits: 3, waitUntil: 0, forgetAt: end });
    expect(await hit(db, 'k', rule, end)).toEqual({ ok: true });
    expect(await row(db, 'k')).toEqual({ hits: 1, waitUntil: 0, forgetAt: end + 60_000 });
  });

  it('starts a new window for a row below the limit once its end has passed, rather than adding to it', async () => {
    const db = await backend.freshDatabase();
    await hit(db, 'k', rule, T0);
    await hit(db, 'k', rule, T0 + 60_000);
    expect(await row(db, 'k')).toEqual({ hits: 1, waitUntil: 0, forgetAt: T0 + 120_000 });
  });

  it('counts nothing for a mail that would not be sent, and nothing to the ceiling for a client over its own allowance', async () => {
    const db = await backend.freshDatabase();
    const policy = {
      mailPerAddressClient: { limit: 1, windowSeconds: 600 },
      mailPerAddress: { limit: 5, windowSeconds: 600 },
      mailNewClients: { limit: 0, windowSeconds: 600 },
    };
    expect(await chargeMail(db, policy, 'a@example.com', 'c1', T0, false)).toBe(false);
    // It still changes a row, the throwaway one, so that its cost is a counted hit's (issue 23 §2).
    expect(await db.prepare("SELECT count(*) AS n FROM throttle WHERE key LIKE 'mail:%'").first()).toEqual({ n: 0 });
    expect((await db.prepare('SELECT key FROM throttle').all()).results).toEqual([{ key: 'uncounted' }]);
    expect(await chargeMail(db, policy, 'a@example.com', 'c1', T0)).toBe(true);
    expect(await chargeMail(db, policy, 'a@example.com', 'c1', T0)).toBe(false);
    expect(await row(db, 'mail:a@example.com')).toEqual({ hits: 1, waitUntil: 0, forgetAt: T0 + 600_000 });
    expect(await chargeMail(db, policy, 'a@example.com', 'c2', T0)).toBe(true);
    expect(await row(db, 'mail:a@example.com')).toMatchObject({ hits: 2 });
  });
});

describe(`the mail allowances decided in one batch, as chargeMail() decides them in three trips (${backend.name})`, () => {
  const on = (limit: number) => ({ limit, windowSeconds: 600 });
  const policies = {
    'all three': { mailPerAddressClient: on(2), mailPerAddress: on(3), mailNewClients: on(2) },
    'no new-client allowance': { mailPerAddressClient: on(2), mailPerAddress: on(3), mailNewClients: on(0) },
    'no per-client allowance': { mailPerAddressClient: on(0), mailPerAddress: on(3), mailNewClients: on(2) },
    'no ceiling': { mailPerAddressClient: on(2), mailPerAddress: on(0), mailNewClients: on(2) },
  };
  // One database (the workerd backend has one), an address for each way: the counters of each, by key less the address.
  const table = async (db: Database, email: string) =>
    JSON.stringify(
      (await db.prepare("SELECT replace(key, ?, '') AS key, hits, wait_until, forget_at FROM throttle WHERE key LIKE ? ORDER BY key").bind(email, `mail:${email}%`).all()).results,
    );

  for (const [name, policy] of Object.entries(policies)) {
    it(`${name}: the same answers, the same counters, and \`allows\` read before the charges says the same`, async () => {
      const db = await backend.freshDatabase();
      // Six clients, one of them asking often, some requests that would mail nothing, and time
      // that crosses the window's end; the same sequence against both.
      const asks: Array<{ client: string; mails: boolean; at: number }> = [];
      for (let i = 0; i < 60; i++) asks.push({ client: `c${i % 7 === 0 ? 1 : (i * 5) % 6}`, mails: i % 5 !== 3, at: T0 + Math.floor(i / 25) * 600_000 + i * 1000 });
      const answers: boolean[][] = [[], [], []];
      for (const { client, mails, at } of asks) {
        answers[0]!.push(await chargeMail(db, policy, 'a@example.com', client, at, mails));
        const { charges, allows } = mailCharges(db, policy, 'b@example.com', client, at, { mails: { sql: '? = 1', values: [mails ? 1 : 0] }, admits: allOf() });
        const done = await runBatch(db, { allows: db.prepare(`SELECT ${allows.sql} AS ok`).bind(...allows.values), ...charges });
        answers[1]!.push(mailVerdict(policy, done, mails));
        answers[2]!.push(rowsOf<{ ok: number }>(done.allows)[0]!.ok === 1);
        expect(await table(db, 'b@example.com')).toBe(await table(db, 'a@example.com'));
      }
      expect(answers[1]).toEqual(answers[0]);
      expect(answers[2]).toEqual(answers[0]);
      // The sequence reaches every branch: allowed and refused both; and the counters were there to compare.
      expect(new Set(answers[0])).toEqual(new Set([true, false]));
      expect(JSON.parse(await table(db, 'a@example.com')).length).toBeGreaterThanOrEqual(2);
    });
  }
});

describe(`the login back-off, one condition at a time (${backend.name})`, () => {
  const policy = { freeFailures: 1, baseSeconds: 10, maxSeconds: 40, resetSeconds: 3600 };

  it('stores the first attempt with no wait and the next one with the base wait', async () => {
    const db = await backend.freshDatabase();
    expect(await chargeLoginAttempt(db, 'login:k', policy, T0)).toEqual({ ok: true });
    expect(await row(db, 'login:k')).toEqual({ hits: 1, waitUntil: T0, forgetAt: T0 + 3_600_000 });
    expect(await chargeLoginAttempt(db, 'login:k', policy, T0 + 5)).toEqual({ ok: true });
    expect(await row(db, 'login:k')).toEqual({ hits: 2, waitUntil: T0 + 5 + 10_000, forgetAt: T0 + 5 + 10_000 + 3_600_000 });
  });

  it('refuses one millisecond before the wait ends without writing, and counts exactly at its end', async () => {
    const db = await backend.freshDatabase();
    await chargeLoginAttempt(db, 'login:k', policy, T0);
    await chargeLoginAttempt(db, 'login:k', policy, T0);
    const until = T0 + 10_000;
    const before = await dump(db);
    expect(await chargeLoginAttempt(db, 'login:k', policy, until - 1)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(await dump(db)).toBe(before);
    expect(await chargeLoginAttempt(db, 'login:k', policy, until)).toEqual({ ok: true });
    expect(await row(db, 'login:k')).toEqual({ hits: 3, waitUntil: until + 20_000, forgetAt: until + 20_000 + 3_600_000 });
  });

  it('forgets the count exactly when forget_at comes, not a millisecond before', async () => {
    const db = await backend.freshDatabase();
    // Waits longer than the quiet time: only forget_at can let the next attempt in.
    const slow = { freeFailures: 0, baseSeconds: 7200, maxSeconds: 7200, resetSeconds: 60 };
    await chargeLoginAttempt(db, 'login:k', slow, T0);
    const forget = T0 + 7_200_000 + 60_000;
    expect(await row(db, 'login:k')).toEqual({ hits: 1, waitUntil: T0 + 7_200_000, forgetAt: forget });
    expect(await chargeLoginAttempt(db, 'login:k', slow, forget - 1)).toEqual({ ok: true });
    expect(await row(db, 'login:k')).toMatchObject({ hits: 2 });
    const db2 = await backend.freshDatabase();
    await chargeLoginAttempt(db2, 'login:k', slow, T0);
    expect(await chargeLoginAttempt(db2, 'login:k', slow, forget)).toEqual({ ok: true });
    expect(await row(db2, 'login:k')).toEqual({ hits: 1, waitUntil: forget + 7_200_000, forgetAt: forget + 7_200_000 + 60_000 });
  });
});

describe(`registrations, one condition at a time (${backend.name})`, () => {
  it('stores a registration when no account has the address, and nothing when one does', async () => {
    const db = await backend.freshDatabase();
    await addAccount(db, ID_1, 'taken@example.com');
    expect(await storeRegistration(db, registration(1, 'free@example.com'))).toBe(true);
    const before = await dump(db);
    expect(await storeRegistration(db, registration(2, 'taken@example.com'))).toBe(false);
    expect(await dump(db)).toBe(before);
  });

  it('renews the newest unconsumed registration, expired or not, copying its password hash', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com', T0, T0 + 1000, HASH_A));
    await storeRegistration(db, registration(2, 'a@example.com', T0 + 10, T0 + 1010, HASH_B));
    const link = { tokenHash: digestOf(3), createdAt: T0 + 5000, expiresAt: T0 + 9000 };
    expect(await renewed(db, 'a@example.com', link)).toBe(true);
    expect(await db.prepare('SELECT password_hash AS h, expires_at AS e FROM registrations WHERE token_hash = ?').bind(digestOf(3)).first()).toEqual({
      h: HASH_B,
      e: T0 + 9000,
    });
  });

  it('renews nothing when the only registration is consumed, or when the address has an account', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com'));
    await db.prepare('UPDATE registrations SET consumed_at = ?').bind(T0 + 1).run();
    let before = await dump(db);
    expect(await renewed(db, 'a@example.com', { tokenHash: digestOf(2), createdAt: T0 + 2, expiresAt: T0 + 9000 })).toBe(false);
    expect(await dump(db)).toBe(before);

    const db2 = await backend.freshDatabase();
    await storeRegistration(db2, registration(1, 'b@example.com'));
    await addAccount(db2, ID_1, 'b@example.com');
    before = await dump(db2);
    expect(await renewed(db2, 'b@example.com', { tokenHash: digestOf(2), createdAt: T0 + 2, expiresAt: T0 + 9000 })).toBe(false);
    expect(await dump(db2)).toBe(before);
  });

  it('finds a registration as still valid one millisecond before its expiry and not at it', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com', T0, T0 + 1000));
    expect(await latestRegistration(db, 'a@example.com', T0 + 999)).toMatchObject({ tokenHash: digestOf(1) });
    expect(await latestRegistration(db, 'a@example.com', T0 + 1000)).toBeNull();
    expect(await latestRegistration(db, 'a@example.com')).toMatchObject({ tokenHash: digestOf(1) });
  });
});

describe(`activation, one condition at a time (${backend.name})`, () => {
  const activation = (n: number, emailKey: string, accountId = ID_1) => ({ tokenHash: digestOf(n), emailKey, accountId, passwordHash: HASH_B });

  it('activates one millisecond before the expiry, with the confirmed hash, and consumes every link of the address only', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com', T0, T0 + 1000));
    await storeRegistration(db, registration(2, 'a@example.com', T0 + 1, T0 + 1001));
    await storeRegistration(db, registration(3, 'other@example.com'));
    expect(await activateRegistration(db, activation(1, 'a@example.com'), T0 + 999)).toBe(true);
    expect((await db.prepare('SELECT id, email_key AS k, password_hash AS h, created_at AS c, activated_at AS a FROM accounts').all()).results).toEqual([
      { id: ID_1, k: 'a@example.com', h: HASH_B, c: T0, a: T0 + 999 },
    ]);
    const consumed = await db.prepare('SELECT token_hash AS t, consumed_at AS c FROM registrations ORDER BY token_hash').all();
    expect(consumed.results).toEqual(
      [
        { t: digestOf(1), c: T0 + 999 },
        { t: digestOf(2), c: T0 + 999 },
        { t: digestOf(3), c: null },
      ].sort((x, y) => (x.t < y.t ? -1 : 1)),
    );
  });

  it('does nothing at all exactly at the expiry', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com', T0, T0 + 1000));
    const before = await dump(db);
    expect(await activateRegistration(db, activation(1, 'a@example.com'), T0 + 1000)).toBe(false);
    expect(await dump(db)).toBe(before);
  });

  it('does nothing with a consumed link, even when no account exists', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com'));
    await db.prepare('UPDATE registrations SET consumed_at = ?').bind(T0 + 1).run();
    const before = await dump(db);
    expect(await activateRegistration(db, activation(1, 'a@example.com'), T0 + 2)).toBe(false);
    expect(await dump(db)).toBe(before);
  });

  it('creates no second account when the address has one, and only consumes the leftover links', async () => {
    const db = await backend.freshDatabase();
    await storeRegistration(db, registration(1, 'a@example.com'));
    await addAccount(db, ID_2, 'a@example.com', HASH_A);
    expect(await activateRegistration(db, activation(1, 'a@example.com', ID_3), T0 + 5)).toBe(false);
    expect((await db.prepare('SELECT id, password_hash AS h FROM accounts').all()).results).toEqual([{ id: ID_2, h: HASH_A }]);
    expect(await db.prepare('SELECT consumed_at AS c FROM registrations').first()).toEqual({ c: T0 + 5 });
  });

  it('replaces a hash only while it is still the one that was verified', async () => {
    const db = await backend.freshDatabase();
    await addAccount(db, ID_1, 'a@example.com', HASH_A);
    expect((await replacePasswordHash(db, ID_1, HASH_B, '$scrypt$c').run()).meta.changes).toBe(0);
    expect((await replacePasswordHash(db, ID_2, HASH_A, '$scrypt$c').run()).meta.changes).toBe(0);
    expect((await replacePasswordHash(db, ID_1, HASH_A, '$scrypt$c').run()).meta.changes).toBe(1);
    expect(await db.prepare('SELECT password_hash AS h FROM accounts').first()).toEqual({ h: '$scrypt$c' });
  });
});

describe(`device tokens, one condition at a time (${backend.name})`, () => {
  const policy = { ttlSeconds: 100, maxFailures: 3 };

  async function withDevice(expiresAt = T0 + 100_000, failures = 0) {
    const db = await backend.freshDatabase();
    await addAccount(db, ID_1, 'a@example.com');
    await addAccount(db, ID_2, 'b@example.com');
    const digest = digestOf(1);
    await addDevice(db, digest, ID_1, expiresAt, failures);
    return { db, digest };
  }
  const failures = (db: Database) => db.prepare('SELECT failures AS f FROM devices WHERE token_hash = ?').bind(digestOf(1)).first();

  it('charges a trusted token one millisecond before its expiry, and nothing exactly at it', async () => {
    let { db, digest } = await withDevice();
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0 + 99_999)).toEqual({ accountId: ID_1, failures: 1 });
    expect(await failures(db)).toEqual({ f: 1 });
    ({ db, digest } = await withDevice());
    const before = await dump(db);
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0 + 100_000)).toBeNull();
    expect(await dump(db)).toBe(before);
  });

  it('lets the last allowed failure through and then trusts the token no more, writing nothing', async () => {
    const { db, digest } = await withDevice(T0 + 100_000, policy.maxFailures - 1);
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0)).toEqual({ accountId: ID_1, failures: policy.maxFailures });
    const before = await dump(db);
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0)).toBeNull();
    expect(await dump(db)).toBe(before);
  });

  it("counts the failures of the account's unexpired tokens together: the last allowed one through another token, then none", async () => {
    const { db, digest } = await withDevice(T0 + 100_000, policy.maxFailures - 2);
    await addDevice(db, digestOf(2), ID_1, T0 + 100_000);
    // An expired token's failures no longer count; another account's never do.
    await addDevice(db, digestOf(3), ID_1, T0 + 1, policy.maxFailures);
    await addDevice(db, digestOf(4), ID_2, T0 + 100_000, policy.maxFailures);
    expect(await chargeDevice(db, digestOf(2), 'a@example.com', policy, T0 + 1)).toEqual({ accountId: ID_1, failures: policy.maxFailures - 1 });
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0 + 1)).toEqual({ accountId: ID_1, failures: policy.maxFailures });
    const before = await dump(db);
    expect(await chargeDevice(db, digestOf(2), 'a@example.com', policy, T0 + 1)).toBeNull();
    expect(await chargeDevice(db, digest, 'a@example.com', policy, T0 + 1)).toBeNull();
    expect(await dump(db)).toBe(before);
  });

  it('a success puts the new token in place of the presented one: the device keeps its id, its failures are cleared', async () => {
    const { db, digest } = await withDevice(T0 + 100_000, 2);
    const replaced = newDevice(db, ID_1, digest, policy, T0 + 10);
    await db.batch(replaced.statements);
    expect(await db.prepare('SELECT id, token_hash AS t, failures AS f, last_used_at AS u FROM devices').all()).toMatchObject({
      results: [{ id: digest.slice(0, 22), t: tokenDigest(replaced.issued.token), f: 0, u: T0 + 10 }],
    });
  });

  it("trusts a token for its own account only, and an unknown one for none, writing nothing", async () => {
    const { db, digest } = await withDevice();
    const before = await dump(db);
    expect(await chargeDevice(db, digest, 'b@example.com', policy, T0)).toBeNull();
    expect(await chargeDevice(db, digest, 'nobody@example.com', policy, T0)).toBeNull();
    expect(await chargeDevice(db, digestOf(2), 'a@example.com', policy, T0)).toBeNull();
    expect(await dump(db)).toBe(before);
  });

  it('replaces the presented token only if it is the account\'s own, and drops tokens exactly at their expiry', async () => {
    const { db } = await withDevice(T0 + 50_000);
    // Another account's token presented at login survives; this account's token expiring now goes.
    await addDevice(db, digestOf(2), ID_2, T0 + 50_000);
    await addDevice(db, digestOf(3), ID_1, T0 + 50_001);
    const fromOther = newDevice(db, ID_1, digestOf(2), policy, T0 + 50_000);
    await db.batch(fromOther.statements);
    const left = await db.prepare('SELECT token_hash AS t, account_id AS a FROM devices ORDER BY expires_at, token_hash').all<{ t: string; a: string }>();
    const own = tokenDigest(fromOther.issued.token);
    expect(left.results).toEqual([
      { t: digestOf(2), a: ID_2 },
      { t: digestOf(3), a: ID_1 },
      { t: own, a: ID_1 },
    ]);

    const again = newDevice(db, ID_1, digestOf(3), policy, T0 + 50_000);
    await db.batch(again.statements);
    const after = await db.prepare('SELECT token_hash AS t FROM devices WHERE account_id = ? ORDER BY token_hash').bind(ID_1).all<{ t: string }>();
    expect(after.results.map((r) => r.t).sort()).toEqual([own, tokenDigest(again.issued.token)].sort());
  });

  it(`keeps the newest ${DEVICES_PER_ACCOUNT} tokens of an account and drops the oldest`, async () => {
    const db = await backend.freshDatabase();
    await addAccount(db, ID_1, 'a@example.com');
    const issued: string[] = [];
    for (let i = 0; i < DEVICES_PER_ACCOUNT + 1; i++) {
      const device = newDevice(db, ID_1, tokenDigest(newToken()), policy, T0 + i);
      await db.batch(device.statements);
      issued.push(tokenDigest(device.issued.token));
    }
    const kept = await db.prepare('SELECT token_hash AS t FROM devices').all<{ t: string }>();
    expect(kept.results.map((r) => r.t).sort()).toEqual(issued.slice(1).sort());
  });
});

describe(`password reset links, one condition at a time (${backend.name})`, () => {
  const HOUR_MS = 3_600_000;
  const link = (n: number, createdAt = T0) => ({ tokenHash: digestOf(n), createdAt, expiresAt: createdAt + HOUR_MS });
  const change = (n: number, passwordHash: string, accountId = ID_1, emailKey = 'a@example.com') => ({ tokenHash: digestOf(n), accountId, emailKey, passwordHash });
  const hashOf = async (db: Database, id: string) => (await db.prepare('SELECT password_hash AS h FROM accounts WHERE id = ?').bind(id).first<{ h: string }>())?.h;
  const usedAt = async (db: Database, n: number) => (await db.prepare('SELECT used_at AS u FROM password_resets WHERE token_hash = ?').bind(digestOf(n)).first<{ u: number | null }>())?.u;

  async function accountWithLinks(...links: number[]) {
    const db = await backend.freshDatabase();
    await addAccount(db, ID_1, 'a@example.com');
    await addAccount(db, ID_2, 'b@example.com');
    for (const n of links) await addPasswordReset(db, 'a@example.com', link(n)).run();
    return db;
  }

  it('stores a link for an address with an account, and nothing for one without', async () => {
    const db = await accountWithLinks();
    expect((await addPasswordReset(db, 'a@example.com', link(1)).run()).meta.changes).toBe(1);
    const before = await dump(db);
    expect((await addPasswordReset(db, 'nobody@example.com', link(2)).run()).meta.changes).toBe(0);
    expect(await dump(db)).toBe(before);
    expect(await db.prepare('SELECT account_id AS a FROM password_resets').all()).toMatchObject({ results: [{ a: ID_1 }] });
  });

  it('changes the password one millisecond before expiry and writes nothing at it', async () => {
    const atExpiry = await accountWithLinks(1);
    await chargeLoginAttempt(atExpiry, keys.login('a@example.com'), { freeFailures: 5, baseSeconds: 30, maxSeconds: 3600, resetSeconds: 86_400 }, T0);
    const before = await dump(atExpiry);
    expect((await commitReset(atExpiry, change(1, HASH_B), T0 + HOUR_MS)).changed).toBe(false);
    expect(await dump(atExpiry)).toBe(before);
    expect(await row(atExpiry, keys.login('a@example.com'))).not.toBeNull();

    const justBefore = await accountWithLinks(1);
    await chargeLoginAttempt(justBefore, keys.login('a@example.com'), { freeFailures: 5, baseSeconds: 30, maxSeconds: 3600, resetSeconds: 86_400 }, T0);
    expect((await commitReset(justBefore, change(1, HASH_B), T0 + HOUR_MS - 1)).changed).toBe(true);
    expect(await hashOf(justBefore, ID_1)).toBe(HASH_B);
    expect(await row(justBefore, keys.login('a@example.com'))).toBeNull();
  });

  it("uses the link and retires the account's other links, and leaves other accounts' links and back-off alone", async () => {
    const db = await accountWithLinks(1, 2);
    await addPasswordReset(db, 'b@example.com', link(3)).run();
    await chargeLoginAttempt(db, keys.login('b@example.com'), { freeFailures: 5, baseSeconds: 30, maxSeconds: 3600, resetSeconds: 86_400 }, T0);
    expect((await commitReset(db, change(2, HASH_B), T0 + 5)).changed).toBe(true);
    expect([await usedAt(db, 1), await usedAt(db, 2), await usedAt(db, 3)]).toEqual([T0 + 5, T0 + 5, null]);
    expect(await hashOf(db, ID_2)).toBe(HASH_A);
    expect(await row(db, keys.login('b@example.com'))).not.toBeNull();
  });

  it('a used link, or one retired by another, writes nothing at all: no hash, no cleared back-off, no used_at moved, no session ended', async () => {
    const db = await accountWithLinks(1, 2);
    expect((await commitReset(db, change(1, HASH_B), T0 + 5)).changed).toBe(true);
    await chargeLoginAttempt(db, keys.login('a@example.com'), { freeFailures: 5, baseSeconds: 30, maxSeconds: 3600, resetSeconds: 86_400 }, T0 + 6);
    // A login with the new password after the reset: a losing confirmation must not end it.
    await newSession(db, ID_1, '192.0.2.1', DEFAULT_SESSIONS, T0 + 6).statement.run();
    const before = await dump(db);
    for (const n of [1, 2]) expect((await commitReset(db, change(n, '$scrypt$c'), T0 + 7)).changed).toBe(false);
    expect(await dump(db)).toBe(before);
    expect(await row(db, keys.login('a@example.com'))).not.toBeNull();
  });

  it("a link cannot be used for another account than its own, even if a request names that one", async () => {
    const db = await accountWithLinks(1);
    const before = await dump(db);
    expect((await commitReset(db, change(1, HASH_B, ID_2, 'b@example.com'), T0 + 5)).changed).toBe(false);
    expect(await dump(db)).toBe(before);
  });
});
