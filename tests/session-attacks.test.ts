// Attack stories across the session routes (issue 11), and the races between them: several
// requests, from more than one client where it matters, each as an attacker would make them.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEFAULT_THROTTLE } from '../lib/config/config.ts';
import { worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { createHarness, GOOD_PASSWORD, NO_LIMITS, OTHER_PASSWORD, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const MALLORY = 'mallory@example.com';
const THIRD = 'a third passphrase for this test';
const whoAmI = (h: Harness, token: string) => h.bearer('GET', '/session', token);
const idOf = (token: string) => token.split('.')[0]!;

describe(`session attack stories (${backend.name})`, () => {
  it('a token stolen before logout stops working everywhere the moment the owner logs out', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const token = await h.logIn(OWNER);
    h.client.address = '203.0.113.66'; // the thief, elsewhere
    expect((await whoAmI(h, token)).status).toBe(200);
    h.client.address = '192.0.2.1';
    expect((await h.bearer('POST', '/logout', token)).status).toBe(204);
    h.client.address = '203.0.113.66';
    for (const res of [
      await whoAmI(h, token),
      await h.bearer('GET', '/sessions', token),
      await h.bearer('DELETE', `/sessions/${idOf(token)}`, token),
      await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD }),
    ]) {
      expect(res.status).toBe(401);
    }
    expect(h.events.filter((e) => e.event === 'session_rejected').every((e) => e.reason === 'revoked' && e.client === '203.0.113.66')).toBe(true);
  });

  it('a thief with a session who learns the password loses it when the owner changes the password; the owner stays in', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    h.client.address = '203.0.113.66';
    const thief = await h.logIn(OWNER);
    h.client.address = '192.0.2.1';
    const owner = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/change-password', owner, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);
    expect((await whoAmI(h, thief)).status).toBe(401);
    expect((await whoAmI(h, owner)).status).toBe(200);
    h.client.address = '203.0.113.66';
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(401);
    const { sessions } = (await (await h.bearer('GET', '/sessions', owner)).json()) as { sessions: Array<{ id: string }> };
    expect(sessions.map((s) => s.id)).toEqual([idOf(owner)]);
  });

  it('a session of another account can neither list nor end the owner\'s sessions: their ids are 404 like unknown ones', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount(MALLORY);
    const owner = await h.logIn(OWNER);
    h.client.address = '203.0.113.66';
    const mallory = await h.logIn(MALLORY);
    const listed = (await (await h.bearer('GET', '/sessions', mallory)).json()) as { sessions: Array<{ id: string }> };
    expect(listed.sessions.map((s) => s.id)).toEqual([idOf(mallory)]);
    const theirs = await h.bearer('DELETE', `/sessions/${idOf(owner)}`, mallory);
    const unknown = await h.bearer('DELETE', `/sessions/${'Z'.repeat(22)}`, mallory);
    expect(theirs.status).toBe(404);
    expect(await theirs.text()).toBe(await unknown.text());
    expect((await whoAmI(h, owner)).status).toBe(200);
    // Nor does the owner's token with another account's id change who it is.
    const me = (await (await whoAmI(h, mallory)).json()) as { user: { email: string } };
    expect(me.user.email).toBe(MALLORY);
  });

  it('a session left idle past SESSION_IDLE_SECONDS cannot be ended from another: 404 like an unknown id, while a live one ends with 204', async () => {
    const h = await createHarness({ SESSION_IDLE_SECONDS: String(86_400) });
    await h.createActiveAccount(OWNER);
    const loginAt = h.clock.now;
    const forgotten = await h.logIn(OWNER); // on a machine left behind, never used again
    h.clock.now = loginAt + 20 * 3_600_000;
    h.client.address = '198.51.100.7';
    const laptop = await h.logIn(OWNER);
    const phone = await h.logIn(OWNER);
    h.clock.now = loginAt + 86_400_000; // the forgotten session's idle end, to the millisecond
    expect((await whoAmI(h, forgotten)).status).toBe(401);
    const expired = await h.bearer('DELETE', `/sessions/${idOf(forgotten)}`, laptop);
    const unknown = await h.bearer('DELETE', `/sessions/${'Z'.repeat(22)}`, laptop);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toBe(await unknown.text());
    expect(h.events.filter((e) => e.event === 'session_revoked')).toEqual([]);
    expect((await h.bearer('DELETE', `/sessions/${idOf(phone)}`, laptop)).status).toBe(204);
    expect((await whoAmI(h, phone)).status).toBe(401);
    expect(h.events.filter((e) => e.event === 'session_revoked')).toMatchObject([{ session: idOf(phone), by: idOf(laptop) }]);
    const { sessions } = (await (await h.bearer('GET', '/sessions', laptop)).json()) as { sessions: Array<{ id: string }> };
    expect(sessions.map((s) => s.id)).toEqual([idOf(laptop)]);
  });

  it('a session kept busy until SESSION_MAX_SECONDS cannot be ended from another once that passes: 404 like an unknown id', async () => {
    const h = await createHarness({ SESSION_IDLE_SECONDS: String(7_200), SESSION_MAX_SECONDS: String(14_400) });
    await h.createActiveAccount(OWNER);
    const loginAt = h.clock.now;
    const old = await h.logIn(OWNER);
    for (let hour = 1; hour <= 3; hour++) {
      h.clock.now = loginAt + hour * 3_600_000; // busy: seen every hour, so never idle
      expect((await whoAmI(h, old)).status).toBe(200);
    }
    h.client.address = '198.51.100.7';
    const laptop = await h.logIn(OWNER);
    h.clock.now = loginAt + 14_400_000 - 1;
    expect((await whoAmI(h, old)).status).toBe(200);
    h.clock.now = loginAt + 14_400_000; // its absolute end, to the millisecond
    const expired = await h.bearer('DELETE', `/sessions/${idOf(old)}`, laptop);
    const unknown = await h.bearer('DELETE', `/sessions/${'Z'.repeat(22)}`, laptop);
    expect(expired.status).toBe(404);
    expect(await expired.text()).toBe(await unknown.text());
    expect(h.events.filter((e) => e.event === 'session_revoked')).toEqual([]);
    expect((await whoAmI(h, old)).status).toBe(401);
  });

  it('after delete-account the old token fails, the password logs nobody in, and the address registers and activates anew', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const token = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD })).status).toBe(204);
    expect((await whoAmI(h, token)).status).toBe(401);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(401);
    await h.createActiveAccount(OWNER, OTHER_PASSWORD);
    const fresh = await h.logIn(OWNER, OTHER_PASSWORD);
    expect((await whoAmI(h, fresh)).status).toBe(200);
    expect((await whoAmI(h, token)).status).toBe(401);
  });

  it('an account that asked for a password reset can still be deleted, and its reset link dies with it', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const link = await h.forgotAndGetToken(OWNER);
    const token = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD })).status).toBe(204);
    expect((await h.db.prepare('SELECT count(*) AS n FROM password_resets').first<{ n: number }>())!.n).toBe(0);
    // The old link changes nothing, not even for the address registered anew.
    await h.createActiveAccount(OWNER, OTHER_PASSWORD);
    expect((await h.post('/reset-password', { token: link, password: 'a password from the old link' })).status).toBe(400);
    expect((await h.post('/login', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(200);
  });

  it('wrong current passwords count in the session\'s own back-off and in the address\'s: the waits hold across login, change-password and delete-account', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const stolen = await h.logIn(OWNER);
    const guess = (n: number) => h.bearer('POST', '/change-password', stolen, { currentPassword: `guess number ${n} of many`, newPassword: THIRD });
    // Five free failures (LOGIN_FREE_FAILURES), the sixth sets a wait: all through change-password.
    for (let n = 1; n <= 6; n++) expect((await guess(n)).status, `guess ${n}`).toBe(401);
    const hits = await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>();
    expect(hits?.hits).toBe(6);
    const throttled = await guess(7);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBe(30);
    // Logged as the login back-off's refusal, with its wait, as a refused login is.
    expect(h.events.at(-1)).toEqual(expect.objectContaining({ event: 'throttled', rule: 'login', retryAfter: 30, path: '/change-password' }));
    // The same wait holds at the login page, from another client, even with the right password…
    h.client.address = '198.51.100.9';
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(429);
    // …and for delete-account, and it ends for all of them together.
    expect((await h.bearer('POST', '/delete-account', stolen, { password: GOOD_PASSWORD })).status).toBe(429);
    h.clock.now += 30_000;
    expect((await h.post('/login', { email: OWNER, password: 'still not the password' })).status).toBe(401);
    // That failure at the login page lengthened the address's wait, not the session's: the session
    // waits out its own back-off only, which its next failure lengthens.
    expect((await guess(8)).status).toBe(401);
    expect((await guess(9)).status).toBe(429);
    h.clock.now += 60_000;
    expect((await h.bearer('POST', '/change-password', stolen, { currentPassword: GOOD_PASSWORD, newPassword: THIRD })).status).toBe(200);
    expect(await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first()).toBeNull();
  });
});

describe(`a session and the login back-off (${backend.name})`, () => {
  const strangerClient = (n: number) => `203.0.113.${(n % 200) + 1}`;
  /** Someone who knows only the address guesses from many clients until it waits, and once more. */
  async function spendBackoff(h: Harness, from: number) {
    let n = from;
    for (;;) {
      h.client.address = strangerClient(n);
      const res = await h.post('/login', { email: OWNER, password: `a stranger's guess ${n++}` });
      if (res.status === 429) return n;
      expect(res.status).toBe(401);
    }
  }

  it("a stranger spending the address's back-off from many clients does not hold up the owner's session: the owner changes the password, then deletes the account", async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    h.client.address = '198.51.100.20';
    const owner = await h.logIn(OWNER);
    let n = await spendBackoff(h, 0);
    // The owner's device-less login waits like anyone's; the session does not.
    h.client.address = '198.51.100.20';
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(429);
    expect((await h.bearer('POST', '/change-password', owner, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);
    n = await spendBackoff(h, n);
    h.clock.now += 10_000; // inside the stranger's wait
    h.client.address = '198.51.100.20';
    expect((await h.bearer('POST', '/delete-account', owner, { password: OTHER_PASSWORD })).status).toBe(204);
    expect((await whoAmI(h, owner)).status).toBe(401);
  });

  it("a session's id is no secret (GET /sessions lists it, the log names it): guessing with it and a forged secret, or with an ended token, charges nothing to the session, and the owner's checks stay free", async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    h.client.address = '198.51.100.20';
    const owner = await h.logIn(OWNER);
    const ended = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/logout', ended)).status).toBe(204);
    const countOf = async (token: string) =>
      (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`session:${idOf(token)}`).first<{ hits: number }>())?.hits ?? 0;
    h.client.address = '203.0.113.66';
    const forged = `${idOf(owner)}.${'A'.repeat(43)}`;
    for (let i = 0; i < 30; i++) {
      const token = i % 2 === 0 ? forged : ended;
      const res =
        i % 3 === 0
          ? await h.bearer('POST', '/change-password', token, { currentPassword: `guess number ${i}`, newPassword: THIRD })
          : i % 3 === 1
            ? await h.bearer('POST', '/delete-account', token, { password: `guess number ${i}` })
            : await h.bearer('POST', '/mfa/totp/setup', token, { password: `guess number ${i}` });
      expect(res.status).toBe(401);
    }
    expect(await countOf(owner)).toBe(0);
    expect(await countOf(ended)).toBe(0);
    expect(await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first()).toBeNull();
    h.client.address = '198.51.100.20';
    expect((await h.bearer('POST', '/change-password', owner, { currentPassword: GOOD_PASSWORD, newPassword: THIRD })).status).toBe(200);
  });

  it('a thief holding a stolen session gets no more checked guesses than the back-off allows, each counted for the address too', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await h.createActiveAccount(OWNER);
    h.client.address = '198.51.100.20';
    const stolen = await h.logIn(OWNER);
    h.client.address = '203.0.113.66';
    const end = h.clock.now + 86_400_000;
    let checked = 0;
    let n = 0;
    while (h.clock.now < end) {
      const res =
        n++ % 2 === 0
          ? await h.bearer('POST', '/change-password', stolen, { currentPassword: `guess number ${n}`, newPassword: THIRD })
          : await h.bearer('POST', '/delete-account', stolen, { password: `guess number ${n}` });
      if (res.status === 401) {
        checked++;
        continue;
      }
      expect(res.status).toBe(429);
      h.clock.now += Number(res.headers.get('retry-after')) * 1000;
    }
    expect(checked).toBeGreaterThan(DEFAULT_THROTTLE.loginFailures.freeFailures);
    expect(checked).toBeLessThanOrEqual(worstCaseFailures(DEFAULT_THROTTLE.loginFailures, 86_400));
    // Every one of them on the address's count as well: right after a guess through the session,
    // the thief's guess at the login page waits.
    expect((await h.bearer('POST', '/delete-account', stolen, { password: 'one guess more' })).status).toBe(401);
    checked++;
    const hits = await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>();
    expect(hits?.hits).toBe(checked);
    expect((await h.post('/login', { email: OWNER, password: 'and one at the login page' })).status).toBe(429);
    // And the session still works for the owner, who knows the password.
    h.client.address = '198.51.100.20';
    expect((await whoAmI(h, stolen)).status).toBe(200);
  }, 60_000);
});

describe(`session races (${backend.name})`, () => {
  it('logout while the same token is used: every request after the logout fails, none answers 5xx', async () => {
    const h = await createHarness(NO_LIMITS);
    await h.createActiveAccount(OWNER);
    const token = await h.logIn(OWNER);
    const other = await h.logIn(OWNER);
    const answers = await Promise.all([
      h.bearer('POST', '/logout', token),
      ...Array.from({ length: 10 }, () => whoAmI(h, token)),
      h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      h.bearer('POST', '/logout', token),
    ]);
    expect(answers.every((r) => [200, 204, 401].includes(r.status))).toBe(true);
    expect((await whoAmI(h, token)).status).toBe(401);
    // The password change raced the logout: either it went through before it, or it changed nothing.
    const changed = answers[11]!.status === 200;
    expect((await h.post('/login', { email: OWNER, password: changed ? OTHER_PASSWORD : GOOD_PASSWORD })).status).toBe(200);
    expect((await whoAmI(h, other)).status).toBe(changed ? 401 : 200);
    expect(await h.db.prepare('SELECT count(*) AS n FROM sessions WHERE id = ? AND revoked_at IS NOT NULL').bind(idOf(token)).first()).toEqual({ n: 1 });
  });

  it('two password changes at once from two sessions: one wins, the other changes nothing, and only the winner\'s session lives', async () => {
    const h = await createHarness(NO_LIMITS);
    await h.createActiveAccount(OWNER);
    const a = await h.logIn(OWNER);
    const b = await h.logIn(OWNER);
    const [ra, rb] = await Promise.all([
      h.bearer('POST', '/change-password', a, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      h.bearer('POST', '/change-password', b, { currentPassword: GOOD_PASSWORD, newPassword: THIRD }),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 401]);
    const [winner, loser, password, lost] = ra.status === 200 ? [a, b, OTHER_PASSWORD, THIRD] : [b, a, THIRD, OTHER_PASSWORD];
    expect((await whoAmI(h, winner)).status).toBe(200);
    expect((await whoAmI(h, loser)).status).toBe(401);
    expect((await h.post('/login', { email: OWNER, password })).status).toBe(200);
    expect((await h.post('/login', { email: OWNER, password: lost })).status).toBe(401);
    expect(h.mails.filter((m) => m.template === 'password-changed')).toHaveLength(1);
    expect(h.events.some((e) => e.event === 'password_change_failed' && e.reason === 'concurrent')).toBe(true);
  });

  it('a stolen session is no faster a way to guess the password: change-password and delete-account share the login allowance of the client', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '4/600' });
    await h.createActiveAccount(OWNER);
    h.client.address = '198.51.100.20';
    const owner = await h.logIn(OWNER);
    const stolen = await h.logIn(OWNER);

    h.client.address = '203.0.113.66';
    const guesses = [
      () => h.bearer('POST', '/change-password', stolen, { currentPassword: 'first guess at the password', newPassword: THIRD }),
      () => h.bearer('POST', '/delete-account', stolen, { password: 'second guess at the password' }),
      () => h.bearer('POST', '/change-password', 'not-a-token', { currentPassword: 'third guess', newPassword: THIRD }),
      () => h.post('/login', { email: OWNER, password: 'fourth guess at the password' }),
    ];
    for (const guess of guesses) expect((await guess()).status).toBe(401);
    // The fifth attempt from this client, by whichever door, is refused before any password is checked.
    const hashesBefore = h.hashes.verify;
    for (const guess of guesses) expect((await guess()).status).toBe(429);
    expect(h.hashes.verify).toBe(hashesBefore);
    expect(h.events.filter((e) => e.event === 'throttled').map((e) => e.rule)).toEqual(['client', 'client', 'client', 'client']);

    // The owner, from their own client, is not held up.
    h.client.address = '198.51.100.20';
    expect((await h.bearer('POST', '/change-password', owner, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);
    expect((await whoAmI(h, stolen)).status).toBe(401);
  });
});
