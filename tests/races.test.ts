// Requests racing for the same address or link, fired together with Promise.all.
//
// Both backends interleave the handlers at every await, so the read-then-write races are real on
// both: many requests read "pending" before any of them writes. On sql.js each statement and each
// batch then runs synchronously, on D1 each is one atomic round trip; neither serialises whole
// requests. What keeps exactly one winner is the SQL (an INSERT … SELECT guarded by the unique
// address and by the link not being consumed, in one batch with the consumption of every other
// link). Each test checks that the race happened (more than one request reached the write).
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createPasswordHasher } from '../lib/crypto/passwords.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { faultPlan, faultyDatabase } from './support/faults.ts';
import { createHarness, FAST_SCRYPT, NO_LIMITS, tokenFromLink } from './support/harness.ts';
import { confirmResetsAtOnce } from './support/reset-race.ts';

const EMAIL = 'race@example.com';
const N = 50;
const passwords = Array.from({ length: N }, (_, i) => `race password number ${i} for the win`);
const hasher = createPasswordHasher({ logN: Number(FAST_SCRYPT.SCRYPT_LOG_N), r: Number(FAST_SCRYPT.SCRYPT_R), p: Number(FAST_SCRYPT.SCRYPT_P) });

/** The activations' batches (a successful login's batch, which clears the back-off, is not one). */
const activationBatches = (plan: ReturnType<typeof faultPlan>) => plan.batches.filter((b) => /INSERT INTO accounts/.test(b.sql[0] ?? ''));

async function racingHarness() {
  const plan = faultPlan();
  // The race is the subject here, not the throttle: 50 requests from one client would be refused.
  const h = await createHarness(NO_LIMITS, faultyDatabase(plan));
  const count = async (sql: string) => (await h.db.prepare(sql).first<{ n: number }>())!.n;
  return { plan, h, count };
}

describe(`races (${backend.name})`, () => {
  it(`${N} registrations of one address, then all ${N} links and ${N} logins at once: one account, with the winning link's password`, async () => {
    const { plan, h, count } = await racingHarness();
    const registered = await Promise.all(passwords.map((password) => h.post('/register', { email: EMAIL, password })));
    expect(registered.map((r) => r.status)).toEqual(Array(N).fill(202));
    expect(await count('SELECT count(*) AS n FROM registrations')).toBe(N);
    expect(await count('SELECT count(*) AS n FROM accounts')).toBe(0);
    const tokens = h.mails.filter((m) => m.template === 'activation').map((m) => tokenFromLink(m.link));
    expect(new Set(tokens).size).toBe(N);

    // Which password each link carries, from the stored registrations.
    const rows = (await h.db.prepare('SELECT token_hash, password_hash FROM registrations').all<{ token_hash: string; password_hash: string }>()).results;
    const passwordOfLink = new Map<string, string>();
    for (const row of rows) {
      const matches = [];
      for (const password of passwords) if (await hasher.verify(password, row.password_hash)) matches.push(password);
      expect(matches).toHaveLength(1);
      passwordOfLink.set(row.token_hash, matches[0]!);
    }

    plan.armed = true;
    const [activations, logins] = await Promise.all([
      // Each link with its own registration's password, as the person who registered it would type.
      Promise.all(tokens.map((token) => h.post('/activate', { token, password: passwordOfLink.get(tokenDigest(token))! }))),
      Promise.all(passwords.map((password) => h.post('/login', { email: EMAIL, password }).then((r) => ({ password, status: r.status })))),
    ]);
    expect(activations.map((r) => r.status)).toEqual(Array(N).fill(200));

    expect(activationBatches(plan).length).toBeGreaterThan(1); // the race was real: several links reached the write
    const winners = activationBatches(plan).filter((b) => b.changes[0] === 1);
    expect(winners).toHaveLength(1);
    const winningToken = tokens.find((t) => tokenDigest(t) === winners[0]!.binds[0]![3])!;
    expect(winningToken).toBeDefined();
    const winningPassword = passwordOfLink.get(tokenDigest(winningToken))!;

    expect(h.events.filter((e) => e.event === 'activated')).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM accounts')).toBe(1);
    expect(await count('SELECT count(*) AS n FROM registrations WHERE consumed_at IS NULL')).toBe(0);

    // Logins during the activation: never a 5xx, and a 200 only ever for the winning password
    // (a 429 is the failed-login back-off doing its job: 49 of the 50 passwords are wrong).
    for (const { password, status } of logins) {
      expect([200, 401, 429]).toContain(status);
      if (status === 200) expect(password).toBe(winningPassword);
    }
    // Afterwards exactly one password logs in, and it is the winning link's. One at a time, each
    // after the failed-login back-off has run out, so that the answer is about the password alone.
    const after: number[] = [];
    for (const password of passwords) {
      h.clock.now += 2 * 60 * 60 * 1000;
      after.push((await h.post('/login', { email: EMAIL, password })).status);
    }
    const loggedIn = passwords.filter((_, i) => after[i] === 200);
    expect(loggedIn).toEqual([winningPassword]);
    expect(after.filter((status) => status !== 200)).toEqual(Array(N - 1).fill(401));

    // And 50 more registrations of the now active address change nothing.
    const before = (await h.db.prepare('SELECT * FROM accounts').all()).results;
    const again = await Promise.all(passwords.map((password) => h.post('/register', { email: EMAIL, password: `${password} again` })));
    expect(again.map((r) => r.status)).toEqual(Array(N).fill(202));
    expect((await h.db.prepare('SELECT * FROM accounts').all()).results).toEqual(before);
    expect(await count('SELECT count(*) AS n FROM registrations')).toBe(N);
  });

  it(`${N} POSTs of the same link at once: every one succeeds, one activation happens`, async () => {
    const { plan, h, count } = await racingHarness();
    const token = await h.registerAndGetToken(EMAIL, passwords[0]);
    plan.armed = true;
    const results = await Promise.all(Array.from({ length: N }, () => h.post('/activate', { token, password: passwords[0] })));
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(200));
    expect(activationBatches(plan).length).toBeGreaterThan(1);
    expect(activationBatches(plan).filter((b) => b.changes[0] === 1)).toHaveLength(1);
    expect(h.events.filter((e) => e.event === 'activated')).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM accounts')).toBe(1);
    expect((await h.post('/login', { email: EMAIL, password: passwords[0] })).status).toBe(200);
  });

  it(`${N} registrations of one new address at once: each its own pending link, no account`, async () => {
    const { h, count } = await racingHarness();
    const results = await Promise.all(passwords.map((password) => h.post('/register', { email: EMAIL.toUpperCase(), password })));
    expect(results.map((r) => r.status)).toEqual(Array(N).fill(202));
    expect(await count('SELECT count(*) AS n FROM accounts')).toBe(0);
    expect(await count(`SELECT count(DISTINCT email_key) AS n FROM registrations`)).toBe(1);
    expect(await count(`SELECT count(*) AS n FROM registrations WHERE consumed_at IS NULL`)).toBe(N);
    expect(h.mails.filter((m) => m.template === 'activation')).toHaveLength(N);
  });

  it(`${N} confirmations of reset links of one account at once (${N / 5} on each of 5 links): the password changes exactly once`, async () => {
    const { plan, h, count } = await racingHarness();
    await h.createActiveAccount(EMAIL, passwords[0]);
    const links: string[] = [];
    for (let i = 0; i < 5; i++) links.push(await h.forgotAndGetToken(EMAIL));
    const resetPasswords = passwords.map((password) => `${password} reset`);
    const winner = await confirmResetsAtOnce(h, plan, links, resetPasswords);
    expect(h.events.filter((e) => e.event === 'password_reset')).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM password_resets WHERE used_at IS NULL')).toBe(0);

    for (const password of [...resetPasswords, passwords[0]!]) {
      h.clock.now += 2 * 60 * 60 * 1000;
      expect((await h.post('/login', { email: EMAIL, password })).status, password).toBe(password === winner ? 200 : 401);
    }
  });

  it('a reset racing a login that rehashes the old password, in both orders of their writes: the new password works, the old one does not', async () => {
    // The configured cost went up since the account's hash was made, so a login with the old
    // password writes a new hash of it: the write a reset could be lost under, or could undo.
    for (const order of ['login writes last', 'reset writes last'] as const) {
      const { h } = await racingHarness();
      await h.createActiveAccount(EMAIL, passwords[0]);
      const token = await h.forgotAndGetToken(EMAIL);
      const upgraded = createPasswordHasher({ logN: 5, r: 8, p: 1 });
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      h.deps.hasher =
        order === 'login writes last'
          ? // The login has read the old hash and verified it, and waits to write its rehash until the reset is done.
            { ...upgraded, verify: async (password, stored) => ((await upgraded.verify(password, stored)) ? gate.then(() => true) : false) }
          : // The reset has read its link and waits to write until the login has rehashed and committed.
            { ...upgraded, hash: async (password) => (password === passwords[1] ? gate.then(() => upgraded.hash(password)) : upgraded.hash(password)) };
      const first = order === 'login writes last' ? h.post('/login', { email: EMAIL, password: passwords[0] }) : h.post('/reset-password', { token, password: passwords[1] });
      await new Promise((r) => setTimeout(r, 50));
      const second = order === 'login writes last' ? h.post('/reset-password', { token, password: passwords[1] }) : h.post('/login', { email: EMAIL, password: passwords[0] });
      expect((await second).status, order).toBe(200);
      openGate();
      // A login that verified the old password while the reset committed gets nothing: its writes
      // are guarded on the hash it verified (see the next test). One that committed first succeeded.
      expect((await first).status, order).toBe(order === 'login writes last' ? 401 : 200);
      expect(h.events.filter((e) => e.event === 'password_rehashed').length, `${order}: the login rehashed`).toBe(order === 'login writes last' ? 0 : 1);
      h.deps.hasher = upgraded;
      expect((await h.post('/login', { email: EMAIL, password: passwords[1] })).status, order).toBe(200);
      expect((await h.post('/login', { email: EMAIL, password: passwords[0] })).status, order).toBe(401);
    }
  });

  it('a login that verified the old password while a reset or a password change committed gets no session and no device token', async () => {
    for (const change of ['reset', 'change-password'] as const) {
      const { h, count } = await racingHarness();
      await h.createActiveAccount(EMAIL, passwords[0]);
      const owner = await h.logIn(EMAIL, passwords[0]);
      const link = await h.forgotAndGetToken(EMAIL);
      const before = { sessions: await count('SELECT count(*) AS n FROM sessions'), devices: await count('SELECT count(*) AS n FROM devices') };

      // The thief, from another client, knows the old password; its check passes and then waits.
      let openGate!: () => void;
      const gate = new Promise<void>((resolve) => (openGate = resolve));
      let waiting!: () => void;
      const verified = new Promise<void>((resolve) => (waiting = resolve));
      const real = h.deps.hasher;
      h.deps.hasher = { ...real, verify: async (password, stored) => (password === passwords[0] && (await real.verify(password, stored)) ? (waiting(), gate.then(() => true)) : real.verify(password, stored)) };
      h.client.address = '203.0.113.66';
      const thief = h.post('/login', { email: EMAIL, password: passwords[0] });
      await verified;
      h.deps.hasher = real;

      // Meanwhile the owner, from their own client, changes the password.
      h.client.address = '198.51.100.20';
      const changed =
        change === 'reset'
          ? await h.post('/reset-password', { token: link, password: passwords[1] })
          : await h.bearer('POST', '/change-password', owner, { currentPassword: passwords[0], newPassword: passwords[1] });
      expect(changed.status, change).toBe(200);
      openGate();

      expect((await thief).status, change).toBe(401);
      expect(await count('SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL'), change).toBe(change === 'reset' ? 0 : 1);
      expect(await count('SELECT count(*) AS n FROM sessions'), change).toBe(before.sessions);
      // The change ended the account's device tokens, and the thief's login added none.
      expect(before.devices).toBeGreaterThan(0);
      expect(await count('SELECT count(*) AS n FROM devices'), change).toBe(0);
      expect(h.events.filter((e) => e.event === 'login_failed').at(-1), change).toMatchObject({ reason: 'password-changed' });
      expect((await h.post('/login', { email: EMAIL, password: passwords[0] })).status, change).toBe(401);
      expect((await h.post('/login', { email: EMAIL, password: passwords[1] })).status, change).toBe(200);
    }
  });
});
