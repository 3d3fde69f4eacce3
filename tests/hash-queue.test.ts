import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { ConfigError, loadConfig } from '../lib/config/config.ts';
import { HashQueueFullError, queuedHasher, type QueuedHasher } from '../lib/crypto/hash-queue.ts';
import type { PasswordHasher } from '../lib/crypto/passwords.ts';
import { keys } from '../lib/storage/throttle.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL, type Harness } from './support/harness.ts';

/** A hasher whose calls wait, once closed, until the test opens it again. */
function gatedHasher(inner: PasswordHasher) {
  let waiters: Array<() => void> = [];
  const gate = {
    closed: false,
    /** Calls that have reached the hasher (past the queue). */
    entered: 0,
    close() {
      gate.closed = true;
    },
    open() {
      gate.closed = false;
      const released = waiters;
      waiters = [];
      released.forEach((release) => release());
    },
  };
  const pass = async () => {
    gate.entered++;
    if (gate.closed) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  const hasher: PasswordHasher = {
    hash: async (password) => (await pass(), inner.hash(password)),
    verify: async (password, stored) => (await pass(), inner.verify(password, stored)),
    verifyDummy: async (password) => (await pass(), inner.verifyDummy(password)),
    needsRehash: (stored) => inner.needsRehash(stored),
    busy: () => false,
  };
  return { gate, hasher };
}

/** Waits for a state that requests reach by themselves; gives up after a bounded number of turns. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let turn = 0; turn < 2000; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  throw new Error(`never reached: ${what}`);
}

const throttleRow = (h: Harness, key: string) => h.db.prepare('SELECT * FROM throttle WHERE key = ?').bind(key).first();

async function gatedHarness() {
  let gated: ReturnType<typeof gatedHasher> | undefined;
  const h = await createHarness({ HASH_MAX_IN_FLIGHT: '1', HASH_MAX_QUEUED: '1' }, undefined, (inner) => {
    gated = gatedHasher(inner);
    return gated.hasher;
  });
  return { h, gate: gated!.gate, queue: h.deps.hasher as QueuedHasher };
}

/** Fills the queue of one slot and one place with two logins held at the gate; returns their release. */
async function fillWithLogins({ h, gate, queue }: Awaited<ReturnType<typeof gatedHarness>>): Promise<() => Promise<void>> {
  gate.close();
  const running = h.post('/login', { email: 'someone@example.com', password: GOOD_PASSWORD });
  await until(() => queue.inFlight === 1, 'one login hashing');
  const waiting = h.post('/login', { email: 'someone@example.com', password: OTHER_PASSWORD });
  await until(() => queue.queued === 1, 'one login queued');
  return async () => {
    gate.open();
    await Promise.all([running, waiting]);
  };
}

describe(`a full hash queue (${backend.name})`, () => {
  it('answers 503 problem+json with Retry-After to a login, and serves the waiting ones', async () => {
    const { h, gate, queue } = await gatedHarness();
    await h.createActiveAccount('ada@example.com');
    gate.close();
    const enteredBefore = gate.entered;

    const running = h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD });
    await until(() => gate.entered === enteredBefore + 1 && queue.inFlight === 1, 'one login hashing');
    const waiting = h.post('/login', { email: 'ada@example.com', password: OTHER_PASSWORD });
    await until(() => queue.queued === 1, 'one login queued');
    const verifiesBefore = h.hashes.verify;

    const refused = await h.post('/login', { email: 'nobody@example.com', password: GOOD_PASSWORD });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ status: 503, type: 'urn:latchkey:problem:busy' });
    expect(h.events.map((e) => e.event)).toContain('hash_queue_full');
    // Refused before any hashing: the queue did not grow, no hash was started for it.
    expect(queue.queued).toBe(1);
    expect(h.hashes.verify).toBe(verifiesBefore);
    // Nor was it charged as a failed login: shedding load must not slow the address down.
    expect(await throttleRow(h, keys.login('nobody@example.com'))).toBeNull();

    gate.open();
    expect((await running).status).toBe(200);
    expect((await waiting).status).toBe(401);
    expect(queue.inFlight).toBe(0);
    expect(queue.queued).toBe(0);
    // Room again: the same request now goes through.
    expect((await h.post('/login', { email: 'nobody@example.com', password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('answers 503 to a registration and stores nothing for it', async () => {
    const { h, gate, queue } = await gatedHarness();
    gate.close();
    const running = h.post('/register', { email: 'first@example.com', password: GOOD_PASSWORD });
    await until(() => queue.inFlight === 1 && gate.entered === 1, 'one registration hashing');
    const waiting = h.post('/register', { email: 'second@example.com', password: GOOD_PASSWORD });
    await until(() => queue.queued === 1, 'one registration queued');

    const refused = await h.post('/register', { email: 'third@example.com', password: GOOD_PASSWORD });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toMatchObject({ status: 503, type: 'urn:latchkey:problem:busy' });

    gate.open();
    expect((await running).status).toBe(202);
    expect((await waiting).status).toBe(202);
    const rows = await dump(h.db);
    expect(rows).toContain('first@example.com');
    expect(rows).toContain('second@example.com');
    expect(rows).not.toContain('third@example.com');
    expect(await throttleRow(h, keys.mail('third@example.com'))).toBeNull();
    expect(h.mails.map((m) => m.to)).toEqual(['first@example.com', 'second@example.com']);
  });

  it('answers 503 to an activation, as a page for the link\'s form, and activates nothing', async () => {
    const { h, gate, queue } = await gatedHarness();
    const token = await h.registerAndGetToken('ada@example.com');
    const before = await dump(h.db);
    const release = await fillWithLogins({ h, gate, queue });

    const form = new URLSearchParams({ token, password: GOOD_PASSWORD }).toString();
    const refused = await h.post('/activate', form, { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await refused.text()).toContain('Please try again shortly');
    const json = await h.post('/activate', { token, password: GOOD_PASSWORD });
    expect(json.status).toBe(503);
    expect(await json.json()).toMatchObject({ type: 'urn:latchkey:problem:busy' });
    expect(await dump(h.db)).toBe(before);

    await release();
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('answers 503 to a password change and to a deletion without charging either to the owner\'s login back-off', async () => {
    const { h, gate, queue } = await gatedHarness();
    await h.createActiveAccount('ada@example.com');
    const session = await h.logIn('ada@example.com');
    // A thief with the session guessing the password while the server is loaded: each request is
    // shed for load, and must not slow the owner's own logins down.
    await h.post('/login', { email: 'ada@example.com', password: OTHER_PASSWORD });
    const backOff = await throttleRow(h, keys.login('ada@example.com'));
    expect(backOff).not.toBeNull();
    const before = await dump(h.db);
    const release = await fillWithLogins({ h, gate, queue });

    const change = await h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: `${OTHER_PASSWORD}!` });
    expect(change.status).toBe(503);
    expect(await change.json()).toMatchObject({ type: 'urn:latchkey:problem:busy' });
    const deletion = await h.bearer('POST', '/delete-account', session, { password: OTHER_PASSWORD });
    expect(deletion.status).toBe(503);
    expect(await throttleRow(h, keys.login('ada@example.com'))).toEqual(backOff);
    expect(await dump(h.db)).toBe(before);

    await release();
  });

  it('lets a right password log in when the queue is too full to rehash it', async () => {
    let full = false;
    // Every stored hash counts as outdated, and once `full` is set, starting a hash finds the queue full.
    const h = await createHarness({}, undefined, (inner) => ({
      ...inner,
      needsRehash: () => true,
      hash: (password) => (full ? Promise.reject(new HashQueueFullError('full')) : inner.hash(password)),
    }));
    await h.createActiveAccount('ada@example.com');
    // The stored hash stays as it was (the login's new device token is the one row it adds).
    const accounts = async () => JSON.parse(await dump(h.db)).accounts as unknown;
    const accountsBefore = await accounts();
    full = true;

    const login = await h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    expect(await accounts()).toEqual(accountsBefore);
    expect(h.events.map((e) => e.event)).not.toContain('password_rehashed');
  });
});

describe('the hash queue', () => {
  const instant: PasswordHasher = {
    hash: async (password) => `h:${password}`,
    verify: async () => true,
    verifyDummy: async () => false,
    needsRehash: () => false,
    busy: () => false,
  };

  it('hands slots out first come, first served', async () => {
    const { gate, hasher } = gatedHasher(instant);
    gate.close();
    const queue = queuedHasher(hasher, { maxInFlight: 1, maxQueued: 3 });
    const order: string[] = [];
    const calls = ['a', 'b', 'c', 'd'].map((p) => queue.hash(p).then((h) => order.push(h)));
    await until(() => gate.entered === 1 && queue.queued === 3, 'all four in');
    gate.open();
    await Promise.all(calls);
    expect(order).toEqual(['h:a', 'h:b', 'h:c', 'h:d']);
  });

  it('refuses at once when nothing may wait, and frees the slot of a failed hash', async () => {
    const failing: PasswordHasher = { ...instant, hash: async () => Promise.reject(new Error('boom')) };
    const queue = queuedHasher(failing, { maxInFlight: 1, maxQueued: 0 });
    const first = queue.hash('a');
    await expect(queue.verify('a', 'x')).rejects.toBeInstanceOf(HashQueueFullError);
    await expect(first).rejects.toThrow('boom');
    expect(queue.inFlight).toBe(0);
    await expect(queue.verify('a', 'x')).resolves.toBe(true);
  });

  it('takes its limits from HASH_MAX_IN_FLIGHT and HASH_MAX_QUEUED', () => {
    expect(loadConfig({ PUBLIC_URL })).toMatchObject({ hashMaxInFlight: undefined, hashMaxQueued: 64 });
    expect(loadConfig({ PUBLIC_URL, HASH_MAX_IN_FLIGHT: '3', HASH_MAX_QUEUED: '0' })).toMatchObject({ hashMaxInFlight: 3, hashMaxQueued: 0 });
    expect(() => loadConfig({ PUBLIC_URL, HASH_MAX_IN_FLIGHT: '0' })).toThrow(ConfigError);
    expect(() => loadConfig({ PUBLIC_URL, HASH_MAX_QUEUED: '-1' })).toThrow(ConfigError);
  });
});
