/**
 * Issue 13 §3, as the attacker plays it: knowing only the owner's address, send one wrong guess
 * each time the per-address back-off ends, and keep the owner out for ever. Device tokens
 * (lib/storage/devices.ts) let the owner in from a device that logged in before; guessing without one
 * stays exactly as slow as it was, and a token reveals nothing about addresses it is not for.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { ConfigError, DEFAULT_THROTTLE, loadConfig } from '../lib/config/config.ts';
import { DEFAULT_DEVICES, DEVICES_PER_ACCOUNT } from '../lib/config/device-settings.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { purge } from '../lib/flows/purge.ts';
import { NIST_FAILURE_CEILING, worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const ATTACKER_CLIENT = '203.0.113.66';
const OWNER_CLIENT = '198.51.100.20';
const THIRD_CLIENT = '192.0.2.99';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const policy = DEFAULT_THROTTLE.loginFailures;

/** One login from a client, with or without a device token. */
function loginFrom(h: Harness, client: string, email: string, password: string, device?: string) {
  h.client.address = client;
  return h.post('/login', { email, password }, device === undefined ? {} : { [DEVICE_HEADER]: device });
}

async function deviceToken(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  const body = (await res.json()) as { device: { token: string; expiresAt: string } };
  return body.device.token;
}

const addressHits = async (h: Harness, email: string) =>
  (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${email}`).first<{ hits: number }>())?.hits ?? 0;

const deviceFailures = async (h: Harness, token: string) =>
  (await h.db.prepare('SELECT failures FROM devices WHERE token_hash = ?').bind(tokenDigest(token)).first<{ failures: number }>())?.failures;

/** Makes the address wait: the free failures and one more, from the attacker's client. */
async function armBackoff(h: Harness, email: string) {
  for (let i = 0; i <= policy.freeFailures; i++) expect((await loginFrom(h, ATTACKER_CLIENT, email, `guess ${i} of the attacker`)).status).toBe(401);
  expect((await loginFrom(h, ATTACKER_CLIENT, email, 'one guess too early')).status).toBe(429);
}

describe(`login lockout through the back-off (${backend.name})`, () => {
  it('an attacker who guesses whenever the back-off ends, for five days, never keeps the owner out of a known device, and guesses no faster than before', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    let token = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));

    const start = h.clock.now;
    const end = start + 5 * DAY;
    let attackerAt = start;
    let ownerAt = start + 7 * MINUTE;
    const owner: number[] = [];
    const withoutDevice: number[] = [];
    const guesses: number[] = [];
    let mostHits = 0;
    while (Math.min(attackerAt, ownerAt) < end) {
      if (attackerAt <= ownerAt) {
        h.clock.now = attackerAt;
        const res = await loginFrom(h, ATTACKER_CLIENT, OWNER, `attacker guess ${guesses.length}`);
        if (res.status === 401) {
          guesses.push(h.clock.now);
          mostHits = Math.max(mostHits, await addressHits(h, OWNER));
          attackerAt = h.clock.now + 1000;
          ownerAt = h.clock.now; // the owner arrives the moment the wait has been re-armed: the worst moment
        } else {
          expect(res.status).toBe(429);
          attackerAt = h.clock.now + Number(res.headers.get('retry-after')) * 1000;
        }
      } else {
        h.clock.now = ownerAt;
        const res = await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, token);
        owner.push(res.status);
        if (res.status === 200) token = await deviceToken(res);
        // The same person on a device that never logged in, whenever the attacker has the address
        // waiting: refused by the back-off before the password is checked, as before.
        if (owner.length % 10 === 0 && (await addressHits(h, OWNER)) > policy.freeFailures) withoutDevice.push((await loginFrom(h, THIRD_CLIENT, OWNER, GOOD_PASSWORD)).status);
        ownerAt = h.clock.now + 53 * MINUTE;
      }
    }

    expect(owner.length).toBeGreaterThan(150);
    expect(owner.filter((s) => s !== 200)).toEqual([]);
    // The attack was real: without a device the owner is refused before the password is checked.
    expect(withoutDevice.length).toBeGreaterThan(10);
    expect(withoutDevice.every((s) => s === 429)).toBe(true);

    // As slow as before: in no 24 hours more guesses than the back-off allows a guesser who never pauses...
    const perDay = Math.max(...guesses.map((t) => guesses.filter((u) => u >= t && u < t + DAY).length));
    expect(perDay).toBeLessThanOrEqual(worstCaseFailures(policy, 86_400));
    expect(perDay).toBeGreaterThanOrEqual(worstCaseFailures(policy, 86_400) - 2); // a real attacker, at full pace
    // ...and never more than NIST's 100 in a row: at the ceiling, nothing counts until a quiet day.
    expect(mostHits).toBe(NIST_FAILURE_CEILING);
    const gaps = guesses.slice(1).map((t, i) => t - guesses[i]!);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(policy.resetSeconds * 1000);
    expect(guesses.length).toBeGreaterThan(NIST_FAILURE_CEILING);
    expect(guesses.length).toBeLessThan(NIST_FAILURE_CEILING + worstCaseFailures(policy, 86_400));
  }, 120_000); // some 600 requests: a few seconds, longer on D1 on a busy machine

  it('a stolen device token that guesses locks itself after the configured failures, and then guesses at the address pace', async () => {
    const h = await createHarness({ DEVICE_MAX_FAILURES: '3' });
    await h.createActiveAccount(OWNER);
    const stolen = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));

    // The thief's first three guesses skip the address's wait, yet count there as well as on the token.
    for (let i = 0; i < 3; i++) expect((await loginFrom(h, ATTACKER_CLIENT, OWNER, `thief ${i}`, stolen)).status).toBe(401);
    expect(await deviceFailures(h, stolen)).toBe(3);
    expect(await addressHits(h, OWNER)).toBe(3);
    expect(h.events.filter((e) => e.event === 'device_locked')).toEqual([expect.objectContaining({ event: 'device_locked' })]);

    // Locked: from now on the token is no token, and the address's back-off holds the thief, with
    // the three guesses already spent of its free ones.
    for (let i = 3; i <= policy.freeFailures; i++) expect((await loginFrom(h, ATTACKER_CLIENT, OWNER, `thief again ${i}`, stolen)).status).toBe(401);
    expect((await loginFrom(h, ATTACKER_CLIENT, OWNER, 'thief too early', stolen)).status).toBe(429);
    expect(await deviceFailures(h, stolen)).toBe(3);
    expect(await addressHits(h, OWNER)).toBe(policy.freeFailures + 1);
    // Even the right password gets no special way through a locked token.
    expect((await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, stolen)).status).toBe(429);

    // Once the wait is over the owner logs in with the password; the locked token is gone for good.
    h.clock.now += policy.baseSeconds * 1000;
    const fresh = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, stolen));
    expect(await deviceFailures(h, stolen)).toBeUndefined();
    expect(await deviceFailures(h, fresh)).toBe(0);
    expect(JSON.stringify(h.events)).not.toContain(stolen);
  });

  it('parallel guesses with a stolen token: no more than the configured failures reach the token, and every guess is on the address\'s count', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    const stolen = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    h.client.address = ATTACKER_CLIENT;
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => h.post('/login', { email: OWNER, password: `burst ${i}` }, { [DEVICE_HEADER]: stolen }).then((r) => r.status)),
    );
    expect(await deviceFailures(h, stolen)).toBe(DEFAULT_DEVICES.maxFailures);
    // 5 through the token, each counted for the address once it failed, and the address's 5 free
    // and one more at most: how many of those the token's failures had used up depends on the order
    // the burst ran in. Every checked guess is on the address's count; the rest were refused uncounted.
    const checked = burst.filter((s) => s === 401).length;
    expect(checked).toBeGreaterThanOrEqual(policy.freeFailures + 1);
    expect(checked).toBeLessThanOrEqual(DEFAULT_DEVICES.maxFailures + policy.freeFailures + 1);
    expect(await addressHits(h, OWNER)).toBe(checked);
    expect(burst.filter((s) => s === 429)).toHaveLength(20 - checked);
  });

  it('a device token of another account does not help, neither the attacker nor the owner', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount('mallory@example.com', OTHER_PASSWORD);
    const mallorys = await deviceToken(await loginFrom(h, ATTACKER_CLIENT, 'mallory@example.com', OTHER_PASSWORD));
    await armBackoff(h, OWNER);
    expect((await loginFrom(h, ATTACKER_CLIENT, OWNER, 'with my own token', mallorys)).status).toBe(429);
    expect((await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, mallorys)).status).toBe(429);
    // The foreign token was neither charged nor spent, and still works for its own account.
    expect(await deviceFailures(h, mallorys)).toBe(0);
    expect((await loginFrom(h, ATTACKER_CLIENT, 'mallory@example.com', OTHER_PASSWORD, mallorys)).status).toBe(200);
  });

  it('an expired device token does not help, and a used one is replaced', async () => {
    const h = await createHarness({ DEVICE_TOKEN_TTL_SECONDS: String(7 * 86_400) });
    await h.createActiveAccount(OWNER);
    const first = await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD);
    const { device } = (await first.json()) as { device: { token: string; expiresAt: string } };
    expect(device.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(device.expiresAt).toBe(new Date(h.clock.now + 7 * DAY).toISOString());
    const stored = await h.db.prepare('SELECT token_hash AS hash FROM devices').all<{ hash: string }>();
    expect(stored.results).toEqual([{ hash: tokenDigest(device.token) }]); // the digest only

    // A success rotates the token: a copy of the old one left behind no longer counts.
    h.clock.now += DAY;
    const second = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, device.token));
    await armBackoff(h, OWNER);
    expect((await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, device.token)).status).toBe(429);
    const kept = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, second));

    // Past its expiry a token is none: the address's back-off holds it like any other request.
    h.clock.now += 7 * DAY;
    await armBackoff(h, OWNER);
    expect((await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, kept)).status).toBe(429);
  });

  it('a known device keeps its own count: the owner mistyping does not lock it while successes come between', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    let token = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    await armBackoff(h, OWNER);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < DEFAULT_DEVICES.maxFailures - 1; i++) expect((await loginFrom(h, OWNER_CLIENT, OWNER, OTHER_PASSWORD, token)).status).toBe(401);
      token = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD, token));
    }
    // A device's success leaves the address's count alone, so guessers gain no free attempts; and
    // its typos count there too, like any failure (the device itself still skips the wait).
    expect((await loginFrom(h, ATTACKER_CLIENT, OWNER, 'still waiting')).status).toBe(429);
    expect(await addressHits(h, OWNER)).toBe(policy.freeFailures + 1 + 3 * (DEFAULT_DEVICES.maxFailures - 1));
  });

  it('keeps the newest tokens of an account and drops the least recently used beyond them', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    const oldest = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    for (let i = 0; i < DEVICES_PER_ACCOUNT; i++) {
      h.clock.now += 1000;
      await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    }
    expect(await h.db.prepare('SELECT count(*) AS n FROM devices').first()).toEqual({ n: DEVICES_PER_ACCOUNT });
    expect(await deviceFailures(h, oldest)).toBeUndefined();
  });

  it('purges expired device tokens and keeps live ones', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount('second@example.com');
    await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    h.clock.now += 10 * DAY;
    const live = await deviceToken(await loginFrom(h, OWNER_CLIENT, 'second@example.com', GOOD_PASSWORD));
    const ttl = DEFAULT_DEVICES.ttlSeconds * 1000;
    expect(await purge(h.db, h.clock.now - 10 * DAY + ttl - 1, 0)).toMatchObject({ devices: 0 });
    expect(await purge(h.db, h.clock.now - 10 * DAY + ttl, 0)).toMatchObject({ devices: 1 });
    expect(await deviceFailures(h, live)).toBe(0);
  });

  it('checks the device settings it reads', () => {
    expect(loadConfig({ PUBLIC_URL }).devices).toEqual(DEFAULT_DEVICES);
    expect(loadConfig({ PUBLIC_URL, DEVICE_MAX_FAILURES: '10', DEVICE_TOKEN_TTL_SECONDS: '86400' }).devices).toEqual({ maxFailures: 10, ttlSeconds: 86_400 });
    for (const [name, bad] of [
      ['DEVICE_MAX_FAILURES', '0'],
      ['DEVICE_MAX_FAILURES', '21'],
      ['DEVICE_TOKEN_TTL_SECONDS', '60'],
      ['DEVICE_TOKEN_TTL_SECONDS', 'ninety days'],
    ] as const) {
      expect(() => loadConfig({ PUBLIC_URL, [name]: bad })).toThrow(ConfigError);
      expect(() => loadConfig({ PUBLIC_URL, [name]: bad })).toThrow(name);
    }
  });
});

describe(`a device token reveals nothing about an address (${backend.name})`, () => {
  const ADDRESSES = { unknown: 'nobody@example.com', pending: 'pending@example.com', active: OWNER };

  /** Every kind of token an attacker can hold for an address that is not theirs. */
  async function tokens(h: Harness): Promise<Record<string, string | undefined>> {
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount('mallory@example.com', OTHER_PASSWORD);
    // The owner's token after a thief locked it, and one that expired.
    const locked = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    for (let i = 0; i < DEFAULT_DEVICES.maxFailures; i++) await loginFrom(h, ATTACKER_CLIENT, OWNER, `thief ${i}`, locked);
    const expired = await deviceToken(await loginFrom(h, OWNER_CLIENT, OWNER, GOOD_PASSWORD));
    h.clock.now += DEFAULT_DEVICES.ttlSeconds * 1000 + DAY; // also forgets the address's counts
    // Valid, but for the attacker's own account.
    const own = await deviceToken(await loginFrom(h, ATTACKER_CLIENT, 'mallory@example.com', OTHER_PASSWORD));
    await h.registerAndGetToken(ADDRESSES.pending);
    return {
      none: undefined,
      empty: '',
      malformed: 'not a token',
      unknown: 'A'.repeat(43),
      "the attacker's own account's": own,
      'locked (stolen and guessed with)': locked,
      expired,
    };
  }

  it('every token the attacker can hold gets the same answers, work and statements as none, on every address', async () => {
    const statements: string[] = [];
    // Links that outlive the whole test, so that the pending address stays pending throughout.
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off', TOKEN_TTL_SECONDS: String(30 * 86_400) }, (db) => ({
      prepare: (sql) => (statements.push(sql.replace(/\s+/g, ' ').trim()), db.prepare(sql)),
      batch: (s) => db.batch(s),
    }));
    const held = await tokens(h);

    const reference: Record<string, string> = {};
    for (const [kind, token] of Object.entries(held)) {
      for (const [state, email] of Object.entries(ADDRESSES)) {
        // A fresh address count for each token kind: the same sequence from the same start.
        h.clock.now += DAY + HOUR;
        const seen: unknown[] = [];
        for (let i = 0; i <= policy.freeFailures + 1; i++) {
          statements.length = 0;
          const verifies = h.hashes.verify;
          const res = await loginFrom(h, ATTACKER_CLIENT, email, 'a wrong guess', token);
          seen.push({ status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text(), verify: h.hashes.verify - verifies, statements: [...statements] });
        }
        const observed = JSON.stringify(seen);
        reference[state] ??= observed;
        expect(observed, `${kind} token on the ${state} address`).toBe(reference[state]);
        // And across addresses, as the enumeration tests demand without any token.
        expect(observed, `${kind} token on the ${state} address`).toBe(reference.unknown);
      }
    }
    // Nothing the attacker sent changed any device's count.
    const counts = await h.db.prepare('SELECT failures FROM devices ORDER BY failures').all<{ failures: number }>();
    expect(counts.results.map((r) => r.failures)).toEqual([0, DEFAULT_DEVICES.maxFailures, 0].sort());
  });
});
