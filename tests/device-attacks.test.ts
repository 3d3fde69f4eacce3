/**
 * Device tokens as a thief would use them (issue 23): tokens hoarded while the thief knew the
 * password, and presented after the owner replaced it; tokens stolen from the owner's devices; and
 * what the owner can do about them (GET /devices, DELETE /devices/{id}). The thief's checked guesses
 * are the answers 401: each one is a password the server verified.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEFAULT_THROTTLE } from '../lib/config/config.ts';
import { DEFAULT_DEVICES } from '../lib/config/device-settings.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { NIST_FAILURE_CEILING, worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_CLIENT = '198.51.100.20';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const MALLORY = 'mallory@example.com';
const LAPTOP = '198.51.100.31';
const PHONE = '198.51.100.32';
const DAY = 86_400_000;
const policy = DEFAULT_THROTTLE.loginFailures;
/** What the back-off lets a guesser who never pauses make in a day: 35 at the defaults. */
const PER_DAY = worstCaseFailures(policy, 86_400);
/** The thief spreads over clients, so that no per-client allowance is what stops it. */
const thiefClient = (n: number) => `203.0.113.${(n % 200) + 1}`;

function loginFrom(h: Harness, client: string, password: string, device?: string) {
  h.client.address = client;
  return h.post('/login', { email: OWNER, password }, device === undefined ? {} : { [DEVICE_HEADER]: device });
}

async function deviceToken(res: Response): Promise<string> {
  expect(res.status).toBe(200);
  return ((await res.json()) as { device: { token: string } }).device.token;
}

const addressHits = async (h: Harness) =>
  (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>())?.hits ?? 0;

/**
 * For a day from now, the thief guesses with every token it holds until that token is refused,
 * then without one, and waits out whatever Retry-After says. How many guesses were checked, and
 * the most failures the address counted in a row.
 */
async function guessForADay(h: Harness, held: string[]): Promise<{ checked: number; mostInARow: number; refusedTokens: number }> {
  const end = h.clock.now + DAY;
  const live = [...held];
  let checked = 0;
  let mostInARow = 0;
  let refusedTokens = 0;
  let n = 0;
  while (h.clock.now < end) {
    let wait = Infinity;
    for (const token of [...live, undefined]) {
      for (;;) {
        const res = await loginFrom(h, thiefClient(n), `thief guess ${n++}`, token);
        if (res.status === 401) {
          checked++;
          mostInARow = Math.max(mostInARow, await addressHits(h));
          continue;
        }
        expect(res.status).toBe(429);
        wait = Math.min(wait, Number(res.headers.get('retry-after')));
        // A refused token is no better than none from now on: the thief stops presenting it.
        if (token !== undefined) live.splice(live.indexOf(token), 1), refusedTokens++;
        break;
      }
    }
    h.clock.now += wait * 1000;
  }
  return { checked, mostInARow, refusedTokens };
}

/** The thief knows the password for a while and logs in 21 times, keeping each device token. */
async function hoard(h: Harness): Promise<string[]> {
  const held: string[] = [];
  for (let i = 0; i < 21; i++) held.push(await deviceToken(await loginFrom(h, thiefClient(i), GOOD_PASSWORD)));
  return held;
}

describe(`device token attacks (${backend.name})`, () => {
  it('tokens hoarded with the old password die with a reset: the thief guesses at the new one no faster than the back-off allows', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    const held = await hoard(h);
    // The owner notices and resets the password through the mailbox, from their own client.
    h.client.address = OWNER_CLIENT;
    const link = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: link, password: NEW_PASSWORD })).status).toBe(200);
    expect(await h.db.prepare('SELECT count(*) AS n FROM devices').first()).toEqual({ n: 0 });
    const afterReset = h.events.length;

    const thief = await guessForADay(h, held);
    expect(thief.checked).toBeLessThanOrEqual(PER_DAY);
    expect(thief.mostInARow).toBeLessThanOrEqual(NIST_FAILURE_CEILING);
    expect(thief.refusedTokens).toBe(held.length);
    // No guess went through a token: every one was the address's.
    expect(h.events.slice(afterReset).filter((e) => e.event === 'login_failed' && e.device === true)).toEqual([]);
    // The owner still gets in.
    expect(await deviceToken(await loginFrom(h, OWNER_CLIENT, NEW_PASSWORD))).toMatch(/^[A-Za-z0-9_-]{43}$/);
  }, 120_000);

  it('tokens hoarded with the old password die with a password change: the same bound', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    h.client.address = OWNER_CLIENT;
    const session = await h.logIn(OWNER);
    const held = await hoard(h);
    h.client.address = OWNER_CLIENT;
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(200);
    expect(await h.db.prepare('SELECT count(*) AS n FROM devices').first()).toEqual({ n: 0 });

    const thief = await guessForADay(h, held);
    expect(thief.checked).toBeLessThanOrEqual(PER_DAY);
    expect(thief.mostInARow).toBeLessThanOrEqual(NIST_FAILURE_CEILING);
    expect(thief.refusedTokens).toBe(held.length);
    expect((await loginFrom(h, OWNER_CLIENT, NEW_PASSWORD)).status).toBe(200);
  }, 120_000);

  it("tokens stolen from the owner's devices give the thief the devices' allowance once in all, however many, and each guess counts for the address", async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    // Three devices of the owner (laptop, phone, tablet); the thief copies all three tokens.
    const stolen: string[] = [];
    for (const client of ['198.51.100.21', '198.51.100.22', '198.51.100.23']) stolen.push(await deviceToken(await loginFrom(h, client, GOOD_PASSWORD)));

    // Through the first token, each guess counts toward the address as well as the token.
    for (let i = 1; i <= DEFAULT_DEVICES.maxFailures; i++) {
      expect((await loginFrom(h, thiefClient(i), `with a stolen token ${i}`, stolen[0])).status).toBe(401);
      expect(await addressHits(h)).toBe(i);
    }
    // Then a day of guessing with all three, and without.
    const thief = await guessForADay(h, stolen);
    const throughTokens = h.events.filter((e) => e.event === 'login_failed' && e.device === true).length;
    expect(throughTokens).toBe(DEFAULT_DEVICES.maxFailures);
    expect(DEFAULT_DEVICES.maxFailures + thief.checked).toBeLessThanOrEqual(PER_DAY + DEFAULT_DEVICES.maxFailures);
    expect(thief.mostInARow).toBeLessThanOrEqual(NIST_FAILURE_CEILING);
    expect(thief.refusedTokens).toBe(stolen.length);
  }, 120_000);

  it("the owner sees a copied token being tried in GET /devices, ends that device, and the owner's own device skips the back-off again; another account's device id is a 404", async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount(MALLORY, OTHER_PASSWORD);
    const laptopRes = await loginFrom(h, LAPTOP, GOOD_PASSWORD);
    const { device: laptopDevice, session: laptopSession } = (await laptopRes.json()) as { device: { token: string; expiresAt: string }; session: { token: string } };
    const laptop = laptopDevice.token;
    h.clock.now += 60_000;
    const phone = await deviceToken(await loginFrom(h, PHONE, GOOD_PASSWORD));

    // The thief copied the phone's token and spends the devices' allowance with it; a stranger
    // then keeps the address waiting, and the owner's laptop no longer gets past the wait.
    h.clock.now += 60_000;
    const triedAt = h.clock.now;
    for (let i = 0; i < DEFAULT_DEVICES.maxFailures; i++) expect((await loginFrom(h, thiefClient(i), `copied token guess ${i}`, phone)).status).toBe(401);
    expect((await loginFrom(h, thiefClient(9), 'a stranger guessing')).status).toBe(401);
    expect((await loginFrom(h, thiefClient(9), 'a stranger guessing again')).status).toBe(429);
    expect((await loginFrom(h, LAPTOP, GOOD_PASSWORD, laptop)).status).toBe(429);

    // The owner, logged in on the laptop, lists the account's devices.
    h.client.address = LAPTOP;
    const listed = await h.bearer('GET', '/devices', laptopSession.token, undefined, { [DEVICE_HEADER]: laptop });
    expect(listed.status).toBe(200);
    const text = await listed.text();
    for (const secret of [laptop, phone, tokenDigest(laptop), tokenDigest(phone)]) expect(text).not.toContain(secret);
    const { devices } = JSON.parse(text) as { devices: Array<{ id: string; createdAt: string; lastUsedAt?: string; expiresAt: string; current?: boolean }> };
    expect(devices).toHaveLength(2);
    const [copied, own] = devices as [(typeof devices)[0], (typeof devices)[0]];
    // Most recently used first: the phone's token, presented by the thief a moment ago.
    expect(copied).toMatchObject({ lastUsedAt: new Date(triedAt).toISOString(), current: false });
    expect(own).toMatchObject({ expiresAt: laptopDevice.expiresAt, current: true });
    expect(own.lastUsedAt).toBeUndefined();
    expect(copied.id).not.toBe(own.id);

    // Mallory, with her own session, can neither see nor end the owner's devices.
    h.client.address = thiefClient(3);
    const mallory = await h.logIn(MALLORY, OTHER_PASSWORD);
    const hers = (await (await h.bearer('GET', '/devices', mallory)).json()) as { devices: Array<{ id: string; current?: boolean }> };
    expect(hers.devices).toHaveLength(1);
    expect(hers.devices[0]!.current).toBe(false);
    const theirs = await h.bearer('DELETE', `/devices/${own.id}`, mallory);
    const unknown = await h.bearer('DELETE', `/devices/${'Z'.repeat(22)}`, mallory);
    expect(theirs.status).toBe(404);
    expect(await theirs.text()).toBe(await unknown.text());

    // The owner ends the copied device: its failures go with it.
    h.client.address = LAPTOP;
    expect((await h.bearer('DELETE', `/devices/${copied.id}`, laptopSession.token)).status).toBe(204);
    expect((await h.bearer('DELETE', `/devices/${copied.id}`, laptopSession.token)).status).toBe(404);
    expect(h.events.filter((e) => e.event === 'device_revoked')).toMatchObject([{ accountId: expect.any(String), device: copied.id, client: LAPTOP }]);
    expect((await loginFrom(h, thiefClient(4), 'the copied token again', phone)).status).toBe(429);
    const renewed = await loginFrom(h, LAPTOP, GOOD_PASSWORD, laptop);
    expect(renewed.status).toBe(200);
    // The laptop's new token is the same device.
    const again = (await (await h.bearer('GET', '/devices', laptopSession.token, undefined, { [DEVICE_HEADER]: await deviceToken(renewed) })).json()) as { devices: Array<{ id: string; current?: boolean }> };
    expect(again.devices).toEqual([expect.objectContaining({ id: own.id, current: true })]);
  });
});
