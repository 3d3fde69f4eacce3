/**
 * What the README and docs/design.md §9 promise about sessions, as a thief and an owner would meet
 * it: a wrong password sent to delete-account is a login failure like any other; a shortened
 * session setting ends old sessions at once; and every way a token can stop working, or never have
 * worked, gets one and the same 401 on every bearer route.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, harnessOn, NO_LIMITS, OTHER_PASSWORD, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_CLIENT = '198.51.100.20';
const THIEF_CLIENT = '203.0.113.66';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const HOUR = 3600_000;

const idOf = (token: string) => token.split('.')[0]!;
const loginFailures = async (h: Harness) =>
  (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>())?.hits ?? 0;

/** Everything a client sees of an answer: status, every header, body. */
async function answer(res: Response) {
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text() };
}

describe(`a wrong password at delete-account is a failed login (${backend.name})`, () => {
  it("a thief's guesses through a stolen session count in the address's back-off: the owner then waits at the login page, not in their own session", async () => {
    const h = await createHarness();
    h.client.address = OWNER_CLIENT;
    await h.createActiveAccount(OWNER);
    const owner = await h.logIn(OWNER);
    const stolen = await h.logIn(OWNER);

    h.client.address = THIEF_CLIENT;
    // LOGIN_FREE_FAILURES is 5: the sixth failure sets the first wait.
    for (let n = 1; n <= 6; n++) {
      const res = await h.bearer('POST', '/delete-account', stolen, { password: `guess number ${n} of many` });
      expect(res.status, `guess ${n}`).toBe(401);
      expect(await loginFailures(h), `guess ${n}`).toBe(n);
    }
    expect(h.events.filter((e) => e.event === 'account_delete_failed').map((e) => e.reason)).toEqual(Array(6).fill('password'));
    const throttled = await h.bearer('POST', '/delete-account', stolen, { password: GOOD_PASSWORD });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBe(30);

    // The owner, from another client, with the right password: the same wait.
    h.client.address = OWNER_CLIENT;
    const login = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD });
    expect(login.status).toBe(429);
    expect(Number(login.headers.get('retry-after'))).toBe(30);
    // The owner's own session does not wait behind them (issue 23): its checks have a back-off of
    // their own. The change ends the thief's session and clears the address's count.
    const change = await h.bearer('POST', '/change-password', owner, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD });
    expect(change.status).toBe(200);
    expect((await h.bearer('GET', '/session', stolen)).status).toBe(401);
    expect(await loginFailures(h)).toBe(0);
    expect((await h.post('/login', { email: OWNER, password: NEW_PASSWORD })).status).toBe(200);
  });
});

describe(`shortening a session setting takes effect at once (${backend.name})`, () => {
  it('sessions made under the default idle timeout are refused by a server restarted with a shorter one, without a write', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const idle = await h.logIn(OWNER);
    const busy = await h.logIn(OWNER);
    h.clock.now += 2 * HOUR + 30 * 60_000;
    expect((await h.bearer('GET', '/session', busy)).status).toBe(200); // seen 30 minutes ago, as the clock goes on
    h.clock.now += 30 * 60_000;

    const shorter = harnessOn(h.db, { SESSION_IDLE_SECONDS: String(2 * 3600) });
    shorter.clock.now = h.clock.now;
    const rows = JSON.stringify((await h.db.prepare('SELECT * FROM sessions ORDER BY id').all()).results);
    for (const [method, path] of [['GET', '/session'], ['GET', '/sessions'], ['POST', '/logout']] as const) {
      expect((await shorter.bearer(method, path, idle)).status, `${method} ${path}`).toBe(401);
    }
    expect(shorter.events.filter((e) => e.event === 'session_rejected').map((e) => e.reason)).toEqual(['expired', 'expired', 'expired']);
    expect(JSON.stringify((await h.db.prepare('SELECT * FROM sessions ORDER BY id').all()).results)).toBe(rows);
    // The session seen within the new limit goes on, and no longer lists the idle one.
    const listed = await shorter.bearer('GET', '/sessions', busy);
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { sessions: Array<{ id: string }> }).sessions.map((s) => s.id)).toEqual([idOf(busy)]);
    // Under the old setting the idle session would still have been live: the setting did it.
    expect((await h.bearer('GET', '/session', idle)).status).toBe(200);
  });

  it('sessions made under the default absolute limit are refused by a server restarted with a shorter one, however busy', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const token = await h.logIn(OWNER);
    for (let hours = 0; hours < 26; hours += 2) {
      h.clock.now += 2 * HOUR;
      expect((await h.bearer('GET', '/session', token)).status, `after ${hours + 2} h`).toBe(200);
    }
    const shorter = harnessOn(h.db, { SESSION_IDLE_SECONDS: String(12 * 3600), SESSION_MAX_SECONDS: String(24 * 3600) });
    shorter.clock.now = h.clock.now; // 26 hours after the login, seen just now
    expect((await shorter.bearer('GET', '/session', token)).status).toBe(401);
    expect(shorter.events.find((e) => e.event === 'session_rejected')?.reason).toBe('expired');
    expect((await h.bearer('GET', '/session', token)).status).toBe(200);
  });
});

describe(`every dead token gets the same 401 on every bearer route (${backend.name})`, () => {
  it('ended by logout, change-password, reset, DELETE /sessions/{id} or delete-account, made up or malformed: status, headers and body alike', async () => {
    const h = await createHarness(NO_LIMITS);
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount('leaving@example.com');
    const dead: Record<string, string> = {};

    dead.logout = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/logout', dead.logout)).status).toBe(204);

    dead['change-password'] = await h.logIn(OWNER);
    const changer = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/change-password', changer, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);

    dead.reset = await h.logIn(OWNER, OTHER_PASSWORD);
    const link = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: link, password: NEW_PASSWORD })).status).toBe(200);

    dead.revoked = await h.logIn(OWNER, NEW_PASSWORD);
    const keeper = await h.logIn(OWNER, NEW_PASSWORD);
    expect((await h.bearer('DELETE', `/sessions/${idOf(dead.revoked)}`, keeper)).status).toBe(204);

    dead['delete-account'] = await h.logIn('leaving@example.com');
    expect((await h.bearer('POST', '/delete-account', dead['delete-account'], { password: GOOD_PASSWORD })).status).toBe(204);

    dead['made up'] = `${'A'.repeat(22)}.${'B'.repeat(43)}`;
    dead.malformed = 'not-a-session-token';
    // Each of those was a real token once (the made-up one has the shape): none works now.
    expect((await h.bearer('GET', '/session', keeper)).status).toBe(200);

    const routes: Array<[string, string, unknown]> = [
      ['GET', '/session', undefined],
      ['GET', '/sessions', undefined],
      ['POST', '/logout', undefined],
      ['POST', '/change-password', { currentPassword: NEW_PASSWORD, newPassword: 'a fourth passphrase for this test' }],
    ];
    const rows = JSON.stringify((await h.db.prepare('SELECT * FROM sessions ORDER BY id').all()).results);
    for (const [method, path, body] of routes) {
      const seen: Record<string, Awaited<ReturnType<typeof answer>>> = {};
      for (const [name, token] of Object.entries(dead)) seen[name] = await answer(await h.bearer(method, path, token, body));
      const first = seen.logout!;
      expect(first.status, path).toBe(401);
      expect(first.headers, path).toContainEqual(['www-authenticate', 'Bearer realm="latchkey"']);
      expect(JSON.parse(first.body), path).toMatchObject({ type: 'urn:latchkey:problem:unauthenticated', status: 401 });
      for (const [name, s] of Object.entries(seen)) expect(s, `${method} ${path}, ${name}`).toEqual(first);
    }
    expect(JSON.stringify((await h.db.prepare('SELECT * FROM sessions ORDER BY id').all()).results)).toBe(rows);
    expect((await h.post('/login', { email: OWNER, password: NEW_PASSWORD })).status).toBe(200);
  });
});
