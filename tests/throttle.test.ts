import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { ConfigError, DEFAULT_THROTTLE, loadConfig } from '../lib/config/config.ts';
import { backoffSeconds, NIST_FAILURE_CEILING, worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { chargeLoginAttempt, hit } from './support/throttle-calls.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL } from './support/harness.ts';

async function expect429(res: Response, seconds?: number) {
  expect(res.status).toBe(429);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const retry = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retry) && retry >= 1).toBe(true);
  if (seconds !== undefined) expect(retry).toBe(seconds);
  const body = (await res.json()) as { status: number; retryAfter: number; type: string };
  expect(body).toMatchObject({ status: 429, type: 'urn:latchkey:problem:too-many-requests', retryAfter: retry });
  return retry;
}

const loginAs = (h: Awaited<ReturnType<typeof createHarness>>, email: string, password: string) => h.post('/login', { email, password });

describe(`per-client limits (${backend.name})`, () => {
  it('answers 429 with Retry-After once a client passes its allowance, and only for that client', async () => {
    const h = await createHarness({ LIMIT_RESEND_PER_CLIENT: '3/600' });
    for (let i = 0; i < 3; i++) expect((await h.post('/resend-activation', { email: `a${i}@example.com` })).status).toBe(202);
    await expect429(await h.post('/resend-activation', { email: 'a9@example.com' }), 600);

    // Garbage counts too: a scanner cannot probe for free.
    h.clock.now += 100_000;
    await expect429(await h.post('/resend-activation', 'not json'), 500);

    h.client.address = '198.51.100.7';
    expect((await h.post('/resend-activation', { email: 'b@example.com' })).status).toBe(202);

    h.client.address = '192.0.2.1';
    h.clock.now += 500_000; // the window is over
    expect((await h.post('/resend-activation', { email: 'c@example.com' })).status).toBe(202);
    expect(h.events.filter((e) => e.event === 'throttled')).toHaveLength(2);
    expect(h.events.find((e) => e.event === 'throttled')).toMatchObject({ rule: 'client', client: '192.0.2.1', path: '/resend-activation' });
  });

  it('keeps each endpoint on its own allowance', async () => {
    const h = await createHarness({ LIMIT_REGISTER_PER_CLIENT: '1/600' });
    expect((await h.post('/register', { email: 'x@example.com', password: GOOD_PASSWORD })).status).toBe(202);
    await expect429(await h.post('/register', { email: 'y@example.com', password: GOOD_PASSWORD }));
    expect((await loginAs(h, 'x@example.com', OTHER_PASSWORD)).status).toBe(401);
    expect((await h.get('/health')).status).toBe(200);
  });

  it('throttles GET and POST /activate alike, and a refused request changes nothing', async () => {
    const h = await createHarness({ LIMIT_ACTIVATE_PER_CLIENT: '2/600' });
    h.client.address = '203.0.113.5';
    const token = await h.registerAndGetToken('page@example.com');
    expect((await h.get(`/activate?token=${token}`)).status).toBe(200);
    expect((await h.get(`/activate?token=${token}`)).status).toBe(200);
    const before = await dump(h.db);
    await expect429(await h.post('/activate', { token }));
    expect(await dump(h.db)).toBe(before);
  });

  it('throttles forgot-password on its own allowance, and GET and POST /reset-password alike, changing nothing when refused', async () => {
    const h = await createHarness({ LIMIT_FORGOT_PER_CLIENT: '2/600', LIMIT_RESET_PER_CLIENT: '2/600' });
    await h.createActiveAccount('reset@example.com');
    h.client.address = '203.0.113.6';
    const token = await h.forgotAndGetToken('reset@example.com');
    expect((await h.post('/forgot-password', { email: 'other@example.com' })).status).toBe(202);
    await expect429(await h.post('/forgot-password', { email: 'reset@example.com' }));
    expect((await h.post('/resend-activation', { email: 'reset@example.com' })).status).toBe(202); // its own allowance
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(200);
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(200);
    const before = await dump(h.db);
    await expect429(await h.post('/reset-password', { token, password: 'seven quiet otters under the bridge' }));
    expect(await dump(h.db)).toBe(before);
    h.client.address = '203.0.113.7';
    expect((await h.post('/reset-password', { token, password: 'seven quiet otters under the bridge' })).status).toBe(200);
  });

  it('answers the browser flows (the link, the forms) with a page, still 429 with Retry-After', async () => {
    const h = await createHarness({ LIMIT_ACTIVATE_PER_CLIENT: '1/600', LIMIT_RESEND_PER_CLIENT: '1/600' });
    expect((await h.get('/activate?token=x')).status).toBe(400);
    const page = await h.get('/activate?token=x');
    expect(page.status).toBe(429);
    expect(page.headers.get('retry-after')).toBe('600');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toContain('try again in 10 minutes');
    const form = (body: string) =>
      h.app.request('/resend-activation', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
    expect((await form('email=a%40example.com')).status).toBe(202);
    const refused = await form('email=a%40example.com');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('counts an IPv6 client per /64, since it can rotate through the rest freely', async () => {
    const h = await createHarness({ LIMIT_RESEND_PER_CLIENT: '2/600' });
    h.client.address = '2001:db8:1:2::1';
    expect((await h.post('/resend-activation', { email: 'a@example.com' })).status).toBe(202);
    h.client.address = '2001:db8:1:2:ffff::9';
    expect((await h.post('/resend-activation', { email: 'a@example.com' })).status).toBe(202);
    h.client.address = '2001:db8:1:2:abcd::1';
    await expect429(await h.post('/resend-activation', { email: 'a@example.com' }));
    h.client.address = '2001:db8:1:3::1';
    expect((await h.post('/resend-activation', { email: 'a@example.com' })).status).toBe(202);
  });

  it('can be switched off', async () => {
    const h = await createHarness({ LIMIT_RESEND_PER_CLIENT: 'off', LIMIT_MAIL_PER_ADDRESS_CLIENT: 'off', LIMIT_MAIL_PER_ADDRESS: 'off' });
    for (let i = 0; i < 30; i++) expect((await h.post('/resend-activation', { email: 'a@example.com' })).status).toBe(202);
    // No counter: only the one row every mail request marks so that its batch always commits (issue 23 §2).
    expect((await h.db.prepare('SELECT key FROM throttle').all()).results).toEqual([{ key: 'mail-requests' }]);
  });
});

describe(`mails per address (${backend.name})`, () => {
  it('allows each client a few mails to an address, new, pending, active or unknown alike, and answers 202 past it', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '2/3600' });
    await h.createActiveAccount('active@example.com');
    await h.registerAndGetToken('pending@example.com');
    h.clock.now += 3600_000; // a fresh window for everyone
    const answers: Record<string, string[]> = {};
    for (const email of ['active@example.com', 'pending@example.com', 'new@example.com']) {
      answers[email] = [];
      for (let i = 0; i < 3; i++) {
        const res = await h.post('/register', { email, password: OTHER_PASSWORD });
        answers[email].push(`${res.status} ${res.headers.get('retry-after')}`);
      }
      const res = await h.post('/resend-activation', { email });
      answers[email].push(`${res.status} ${res.headers.get('retry-after')}`);
    }
    for (const statuses of Object.values(answers)) expect(statuses).toEqual(Array(4).fill('202 null'));
    // Mail bombing one inbox through either endpoint stops at the allowance: the first mail, then two.
    expect(h.mails.filter((m) => m.to === 'pending@example.com').length).toBe(3);
    expect(h.mails.filter((m) => m.to === 'active@example.com' && m.template !== 'activation').length).toBe(2);
    expect(h.mails.filter((m) => m.to === 'new@example.com').length).toBe(2);
    expect(h.events.filter((e) => e.event === 'throttled').map((e) => e.rule)).toEqual(['mail', 'mail', 'mail', 'mail', 'mail', 'mail']);
  });

  it('counts the address key, so case and spacing do not buy more mail', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600' });
    expect((await h.post('/register', { email: 'Bob@Example.com', password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/register', { email: '  bob@EXAMPLE.com ', password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/resend-activation', { email: 'BOB@example.COM' })).status).toBe(202);
    expect(h.mails).toHaveLength(1);
  });

  it('refuses a ceiling that one client alone could spend', () => {
    expect(() => loadConfig({ PUBLIC_URL, LIMIT_MAIL_PER_ADDRESS: '5/3600' })).toThrow(/LIMIT_MAIL_PER_ADDRESS must allow more/);
    expect(() => loadConfig({ PUBLIC_URL, LIMIT_MAIL_PER_ADDRESS: '6/3600', LIMIT_MAIL_PER_ADDRESS_CLIENT: '5/3600' })).not.toThrow();
    expect(() => loadConfig({ PUBLIC_URL, LIMIT_MAIL_PER_ADDRESS: '5/3600', LIMIT_MAIL_PER_ADDRESS_CLIENT: 'off' })).not.toThrow();
    expect(loadConfig({ PUBLIC_URL }).throttle).toMatchObject({
      mailPerAddressClient: { limit: 5, windowSeconds: 3600 },
      mailPerAddress: { limit: 20, windowSeconds: 3600 },
    });
  });
});

describe(`failed logins per address (${backend.name})`, () => {
  const policy = DEFAULT_THROTTLE.loginFailures;

  it('gives a few free failures, then waits that grow; once the attacker stops, the owner gets in when the wait ends', async () => {
    const h = await createHarness();
    await h.createActiveAccount('owner@example.com');
    for (let i = 0; i < policy.freeFailures; i++) expect((await loginAs(h, 'owner@example.com', OTHER_PASSWORD)).status).toBe(401);
    // The next attempt is allowed but earns the first wait.
    expect((await loginAs(h, 'owner@example.com', OTHER_PASSWORD)).status).toBe(401);
    const hashesBefore = h.hashes.verify;
    const waits = [await expect429(await loginAs(h, 'owner@example.com', GOOD_PASSWORD), policy.baseSeconds)];
    expect(h.hashes.verify).toBe(hashesBefore); // refused before any hashing work

    for (let round = 0; round < 12; round++) {
      h.clock.now += waits.at(-1)! * 1000;
      expect((await loginAs(h, 'owner@example.com', OTHER_PASSWORD)).status).toBe(401);
      waits.push(await expect429(await loginAs(h, 'owner@example.com', OTHER_PASSWORD)));
    }
    expect(waits.slice(0, 4)).toEqual([30, 60, 120, 240]);
    expect(Math.max(...waits)).toBe(policy.maxSeconds);

    // However long the attack went on, the owner gets in once the current wait is over...
    h.clock.now += policy.maxSeconds * 1000;
    expect((await loginAs(h, 'owner@example.com', GOOD_PASSWORD)).status).toBe(200);
    // ...and that success wipes the slate: free failures again.
    for (let i = 0; i < policy.freeFailures + 1; i++) expect((await loginAs(h, 'owner@example.com', OTHER_PASSWORD)).status).toBe(401);
    expect((await loginAs(h, 'owner@example.com', OTHER_PASSWORD)).status).toBe(429);
  });

  it('throttles an unknown address exactly like an existing one, so the limit reveals nothing', async () => {
    const h = await createHarness();
    await h.createActiveAccount('real@example.com');
    await h.registerAndGetToken('waiting@example.com');
    const seen: Record<string, string[]> = {};
    for (const email of ['real@example.com', 'waiting@example.com', 'ghost@example.com']) {
      seen[email] = [];
      for (let i = 0; i < policy.freeFailures + 3; i++) {
        const res = await loginAs(h, email, OTHER_PASSWORD);
        seen[email].push(`${res.status} ${res.headers.get('retry-after')}`);
      }
    }
    expect(seen['waiting@example.com']).toEqual(seen['real@example.com']);
    expect(seen['ghost@example.com']).toEqual(seen['real@example.com']);
  });

  it('forgets failures after a quiet day', async () => {
    const h = await createHarness();
    await h.createActiveAccount('quiet@example.com');
    for (let i = 0; i < policy.freeFailures + 1; i++) await loginAs(h, 'quiet@example.com', OTHER_PASSWORD);
    expect((await loginAs(h, 'quiet@example.com', OTHER_PASSWORD)).status).toBe(429);
    h.clock.now += (policy.baseSeconds + policy.resetSeconds) * 1000;
    for (let i = 0; i < policy.freeFailures + 1; i++) expect((await loginAs(h, 'quiet@example.com', OTHER_PASSWORD)).status).toBe(401);
  });

  it('counts parallel guesses as they arrive: a burst gets no more attempts than a sequence', async () => {
    const h = await createHarness();
    await h.createActiveAccount('burst@example.com');
    const statuses = await Promise.all(Array.from({ length: 25 }, () => loginAs(h, 'burst@example.com', OTHER_PASSWORD).then((r) => r.status)));
    expect(statuses.filter((s) => s === 401)).toHaveLength(policy.freeFailures + 1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(25 - policy.freeFailures - 1);
  });

  it('holds the same rules when the statements run directly and concurrently against the database', async () => {
    const db = await backend.freshDatabase();
    const now = Date.UTC(2026, 0, 1);
    const tight = { freeFailures: 2, baseSeconds: 10, maxSeconds: 40, resetSeconds: 3600 };
    const verdicts = await Promise.all(Array.from({ length: 10 }, () => chargeLoginAttempt(db, 'login:k', tight, now)));
    expect(verdicts.filter((v) => v.ok)).toHaveLength(3);
    expect(verdicts.filter((v) => !v.ok).map((v) => (v.ok ? 0 : v.retryAfterSeconds))).toEqual(Array(7).fill(10));
    const windows = await Promise.all(Array.from({ length: 10 }, () => hit(db, 'client:x', { limit: 4, windowSeconds: 60 }, now)));
    expect(windows.filter((v) => v.ok)).toHaveLength(4);
    expect(await hit(db, 'client:x', { limit: 4, windowSeconds: 60 }, now + 60_000)).toEqual({ ok: true });
  });
});

describe(`the stop at 100 counted failures (${backend.name})`, () => {
  it('counts no attempt past 100 until the count is forgotten, says how long that is, and a refusal does not put it off', async () => {
    const db = await backend.freshDatabase();
    // Waits of one second: only the stop keeps this policy within 100 (loadConfig would refuse it).
    const fast = { freeFailures: 1, baseSeconds: 1, maxSeconds: 1, resetSeconds: 3600 };
    let now = Date.UTC(2026, 0, 1);
    for (let i = 0; i < NIST_FAILURE_CEILING; i++, now += 1000) expect(await chargeLoginAttempt(db, 'login:k', fast, now)).toEqual({ ok: true });
    const last = now - 1000;
    const forgotten = last + 1000 + fast.resetSeconds * 1000;
    for (const t of [now, now + 60_000, forgotten - 1000]) {
      expect(await chargeLoginAttempt(db, 'login:k', fast, t)).toEqual({ ok: false, retryAfterSeconds: Math.ceil((forgotten - t) / 1000) });
    }
    expect(await chargeLoginAttempt(db, 'login:k', fast, forgotten)).toEqual({ ok: true });
    expect(await db.prepare("SELECT hits FROM throttle WHERE key = 'login:k'").first()).toEqual({ hits: 1 });
  });
});

describe('the NIST SP 800-63B ceiling of 100 failures', () => {
  it('holds by construction: the defaults allow far fewer than 100 failures per day on one address', () => {
    const worst = worstCaseFailures(DEFAULT_THROTTLE.loginFailures, DEFAULT_THROTTLE.loginFailures.resetSeconds);
    expect(worst).toBeLessThanOrEqual(NIST_FAILURE_CEILING);
    expect(worst).toBe(35); // 5 free, 7 while the wait doubles to 32 min, then one an hour
  });

  it('matches the waits the database computes', () => {
    const p = DEFAULT_THROTTLE.loginFailures;
    expect([1, 5, 6, 7, 8, 12, 13, 50, 1000].map((n) => backoffSeconds(n, p))).toEqual([0, 0, 30, 60, 120, 1920, 3600, 3600, 3600]);
  });

  it('refuses settings that would allow more than 100 failures before they are forgotten', () => {
    expect(() => loadConfig({ PUBLIC_URL, LOGIN_BACKOFF_MAX_SECONDS: '60', LOGIN_BACKOFF_BASE_SECONDS: '1' })).toThrow(ConfigError);
    expect(() => loadConfig({ PUBLIC_URL, LOGIN_BACKOFF_MAX_SECONDS: '60', LOGIN_BACKOFF_BASE_SECONDS: '1' })).toThrow(/NIST/);
    expect(() => loadConfig({ PUBLIC_URL, LOGIN_BACKOFF_MAX_SECONDS: '1800', LOGIN_FAILURE_RESET_SECONDS: '86400' })).not.toThrow();
  });

  it('checks every limit setting it reads', () => {
    for (const bad of ['5', '5/0', '-1/60', 'five/60', '5/60/1', '5/99999999']) {
      expect(() => loadConfig({ PUBLIC_URL, LIMIT_LOGIN_PER_CLIENT: bad })).toThrow(/LIMIT_LOGIN_PER_CLIENT/);
    }
    expect(loadConfig({ PUBLIC_URL, LIMIT_LOGIN_PER_CLIENT: '7/30' }).throttle.perClient.login).toEqual({ limit: 7, windowSeconds: 30 });
  });

  it('counts the attempts a never-pausing guesser gets in a window: the one allowed at its end is the next window\'s', () => {
    // Two free failures, then 10 s each: attempts at 0 s, 0 s, 0 s, then 10 s, 20 s, …
    const policy = { freeFailures: 2, baseSeconds: 10, maxSeconds: 10, resetSeconds: 100 };
    expect(worstCaseFailures(policy, 10)).toBe(3);
    expect(worstCaseFailures(policy, 11)).toBe(4);
    // One-second waits over a long horizon are counted one by one, not taken for "no waits at all".
    expect(worstCaseFailures({ freeFailures: 0, baseSeconds: 1, maxSeconds: 1, resetSeconds: 60 }, 20_000)).toBe(20_000);
    // A back-off that never waits bounds nothing.
    expect(worstCaseFailures({ freeFailures: 5, baseSeconds: 0, maxSeconds: 0, resetSeconds: 60 }, 60)).toBe(Infinity);
  });

  it('a wait is never longer than the configured ceiling, whatever the count', () => {
    expect(backoffSeconds(10 ** 9, { freeFailures: 1, baseSeconds: 3600, maxSeconds: 86_400, resetSeconds: 86_400 })).toBe(86_400);
  });
});
