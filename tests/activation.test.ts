import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink } from './support/harness.ts';

const HOUR = 3600 * 1000;

describe(`activation links (${backend.name})`, () => {
  it('GET shows a page that asks for the password, with one button that posts the token, and changes nothing', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('lin@example.com');
    const before = await dump(h.db);
    const res = await h.get(`/activate?token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/<form method="post" action="activate">/);
    expect(html).toContain(`name="token" value="${token}"`);
    expect(html).toMatch(/<input id="password" name="password" type="password" autocomplete="current-password" required/);
    expect(html.match(/<button/g)).toHaveLength(1);
    expect(await dump(h.db)).toBe(before);
  });

  it('activates from the page form and answers with an HTML page', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('form@example.com');
    const res = await h.app.request('/activate', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, password: GOOD_PASSWORD }).toString(),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('Account activated');
    expect((await h.post('/login', { email: 'form@example.com', password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('treats a second use of the link as success, with one activation event', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('twice@example.com');
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
    const again = await h.post('/activate', { token, password: GOOD_PASSWORD });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'active' });
    expect(await (await h.get(`/activate?token=${token}`)).text()).toContain('already active');
    expect(h.events.filter((e) => e.event === 'activated')).toHaveLength(1);
  });

  it('answers 400 for unknown, malformed and tampered tokens', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('tamper@example.com');
    const flipped = (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
    for (const bad of [flipped, 'short', `${token}x`, '', 'A'.repeat(43)]) {
      const before = h.hashes.verify + h.hashes.hash;
      const res = await h.post('/activate', { token: bad, password: GOOD_PASSWORD });
      // A link that does not work costs no hashing, so guessing tokens cannot load the server.
      expect(h.hashes.verify + h.hashes.hash, bad).toBe(before);
      expect(res.status, bad).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toMatchObject({ status: 400, type: 'urn:latchkey:problem:link-invalid' });
      expect((await h.get(`/activate?token=${encodeURIComponent(bad)}`)).status).toBe(400);
    }
    expect((await h.get('/activate')).status).toBe(400);
    expect((await h.post('/login', { email: 'tamper@example.com', password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('answers 410 with a way to a new link once the link has expired (default 24 h)', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('late@example.com');
    h.clock.now += 24 * HOUR - 1;
    expect((await h.get(`/activate?token=${token}`)).status).toBe(200);
    h.clock.now += 1;
    const res = await h.post('/activate', { token, password: GOOD_PASSWORD });
    expect(res.status).toBe(410);
    expect(await res.json()).toMatchObject({ type: 'urn:latchkey:problem:link-expired', resend: { href: '/resend-activation' } });
    const page = await h.get(`/activate?token=${token}`);
    expect(page.status).toBe(410);
    expect(await page.text()).toMatch(/<form method="post" action="resend-activation">/);

    // The way out works: a new link, with the password typed at registration.
    expect((await h.post('/resend-activation', { email: 'late@example.com' })).status).toBe(202);
    const fresh = tokenFromLink(h.mails.at(-1)?.link);
    expect((await h.post('/activate', { token: fresh, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'late@example.com', password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('honours a configured lifetime', async () => {
    const h = await createHarness({ TOKEN_TTL_SECONDS: '600' });
    const token = await h.registerAndGetToken('short@example.com');
    expect(h.mails.at(-1)?.text).toContain('10 minutes');
    h.clock.now += 600 * 1000;
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(410);
  });

  it('activates with the password typed on the page, and retires every other link', async () => {
    const h = await createHarness();
    const first = await h.registerAndGetToken('victim@example.com', OTHER_PASSWORD);
    const second = await h.registerAndGetToken('victim@example.com', GOOD_PASSWORD);

    // The holder of the mailbox uses the newer link with its own password: that is the account's.
    expect((await h.post('/activate', { token: second, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'victim@example.com', password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'victim@example.com', password: OTHER_PASSWORD })).status).toBe(401);

    // The other link can no longer change anything, whatever password comes with it.
    const late = await h.post('/activate', { token: first, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD });
    expect(late.status).toBe(200);
    expect((await h.post('/login', { email: 'victim@example.com', password: OTHER_PASSWORD })).status).toBe(401);
    const rows = await h.db.prepare('SELECT count(*) AS n FROM registrations WHERE consumed_at IS NULL').first<{ n: number }>();
    expect(rows?.n).toBe(0);
    expect(h.events.filter((e) => e.event === 'activated')).toHaveLength(1);
  });

  it('asks for a password that is not the registration\'s own twice, and holds it to the policy', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('twice-typed@example.com', GOOD_PASSWORD);
    const before = await dump(h.db);

    const unconfirmed = await h.post('/activate', { token, password: OTHER_PASSWORD });
    expect(unconfirmed.status).toBe(422);
    expect(await unconfirmed.json()).toMatchObject({ errors: [{ pointer: '/confirmPassword' }] });
    const differs = await h.post('/activate', { token, password: OTHER_PASSWORD, confirmPassword: `${OTHER_PASSWORD}!` });
    expect(differs.status).toBe(422);
    expect(await differs.json()).toMatchObject({ errors: [{ pointer: '/confirmPassword', detail: 'Must be the same as password.' }] });
    const weak = await h.post('/activate', { token, password: 'password', confirmPassword: 'password' });
    expect(weak.status).toBe(422);
    const weakErrors = ((await weak.json()) as { errors: Array<{ pointer: string }> }).errors;
    expect(weakErrors.length).toBeGreaterThan(0);
    expect(weakErrors.every((e) => e.pointer === '/password')).toBe(true);
    // None of that changed anything, and the link still works.
    expect(await dump(h.db)).toBe(before);

    const hashesBefore = h.hashes.hash;
    expect((await h.post('/activate', { token, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD })).status).toBe(200);
    expect(h.hashes.hash - hashesBefore).toBe(1);
    expect((await h.post('/login', { email: 'twice-typed@example.com', password: OTHER_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'twice-typed@example.com', password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('does not let a later registration replace an active account', async () => {
    const h = await createHarness();
    await h.createActiveAccount('kept@example.com', GOOD_PASSWORD);
    const before = await dump(h.db);
    expect((await h.post('/register', { email: 'KEPT@example.com', password: OTHER_PASSWORD })).status).toBe(202);
    expect(await dump(h.db)).toBe(before);
    expect(h.mails.at(-1)).toMatchObject({ template: 'already-registered', to: 'kept@example.com' });
    expect(h.mails.at(-1)).not.toHaveProperty('link');
    expect((await h.post('/login', { email: 'kept@example.com', password: OTHER_PASSWORD })).status).toBe(401);
  });
});
