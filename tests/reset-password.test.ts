/**
 * Forgot password (issue 10): every answer of POST /forgot-password, GET and POST /reset-password,
 * and what a reset does and does not do. The attacks across endpoints are in
 * tests/reset-attacks.test.ts; races, faults, cost and fuzzing in the shared files.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { parseHash } from '../lib/crypto/passwords.ts';
import { keys } from '../lib/storage/throttle.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL, tokenFromLink, type Harness } from './support/harness.ts';

const EMAIL = 'ada@example.com';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const HOUR = 3600 * 1000;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

interface Problem {
  type: string;
  errors: Array<{ pointer: string; detail: string }>;
  resend?: unknown;
}
const problemOf = async (res: Response) => (await res.json()) as Problem;

const login = async (h: Harness, password: string, email = EMAIL) => (await h.post('/login', { email, password })).status;
const accountHash = async (h: Harness) =>
  (await h.db.prepare('SELECT password_hash AS hash FROM accounts WHERE email_key = ?').bind(EMAIL).first<{ hash: string }>())!.hash;

async function activeWithLink(vars: Record<string, string> = {}) {
  const h = await createHarness(vars);
  await h.createActiveAccount(EMAIL);
  const token = await h.forgotAndGetToken(EMAIL);
  return { h, token };
}

describe(`POST /forgot-password (${backend.name})`, () => {
  it('mails an active account a reset link to PUBLIC_URL/reset-password, and answers 202', async () => {
    const h = await createHarness();
    await h.createActiveAccount(EMAIL);
    const before = h.mails.length;
    const res = await h.post('/forgot-password', { email: ' Ada@Example.com ' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'pending', message: 'If this address has an account, a link to choose a new password is on its way to it.' });
    const mails = h.mails.slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ template: 'password-reset', to: EMAIL, subject: 'Reset your password — Latchkey' });
    expect(mails[0]!.link).toMatch(new RegExp(`^${PUBLIC_URL}/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    expect(mails[0]!.text).toContain('within 1 hour');
    // Only the digest is stored.
    const rows = (await h.db.prepare('SELECT token_hash FROM password_resets').all<{ token_hash: string }>()).results;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).not.toContain(tokenFromLink(mails[0]!.link));
  });

  it('mails a pending address a fresh activation link that says why, and an unknown one nothing', async () => {
    const h = await createHarness();
    await h.registerAndGetToken(EMAIL);
    const before = h.mails.length;
    expect((await h.post('/forgot-password', { email: EMAIL })).status).toBe(202);
    expect((await h.post('/forgot-password', { email: 'nobody@example.com' })).status).toBe(202);
    const mails = h.mails.slice(before);
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ template: 'activation', to: EMAIL });
    expect(mails[0]!.text).toContain('asked to reset the password');
    expect(mails[0]!.link).toMatch(new RegExp(`^${PUBLIC_URL}/activate\\?token=`));
    // The fresh link activates the account with a new password typed twice.
    const token = tokenFromLink(mails[0]!.link);
    expect((await h.post('/activate', { token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD })).status).toBe(200);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
    expect(await h.db.prepare('SELECT count(*) AS n FROM password_resets').first()).toEqual({ n: 0 });
  });

  it('answers 422 naming /email for a malformed address, and a page with the form for the page form', async () => {
    const h = await createHarness();
    const res = await h.post('/forgot-password', { email: 'not an address' });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect((await problemOf(res)).errors[0]!.pointer).toBe('/email');
    const page = await h.post('/forgot-password', form({ email: 'not an address' }), FORM);
    expect(page.status).toBe(422);
    expect(await page.text()).toMatch(/<form method="post" action="forgot-password">[\s\S]*value="not an address"/);
    const sent = await h.post('/forgot-password', form({ email: EMAIL }), FORM);
    expect(sent.status).toBe(202);
    expect(await sent.text()).toContain('Check your mail');
    expect(h.mails).toHaveLength(0);
  });
});

describe(`GET /reset-password (${backend.name})`, () => {
  it('shows a page naming the address with the new password twice, and changes nothing', async () => {
    const { h, token } = await activeWithLink();
    const before = await dump(h.db);
    const res = await h.get(`/reset-password?token=${token}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await res.text();
    expect(html).toContain(`<strong>${EMAIL}</strong>`);
    expect(html).toMatch(/<form method="post" action="reset-password">/);
    expect(html).toContain(`name="token" value="${token}"`);
    expect(html.match(/type="password" autocomplete="new-password"/g)).toHaveLength(2);
    expect(await dump(h.db)).toBe(before);
    // Opened again (a mail scanner, then the person): still the same page.
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(200);
  });

  it('says an expired link has expired (410) and an unknown, tampered or used one does not work (400), each with a form for a new link', async () => {
    const { h, token } = await activeWithLink();
    const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    for (const bad of ['', 'short', tampered]) {
      const res = await h.get(`/reset-password?token=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(await res.text()).toMatch(/This link does not work[\s\S]*action="forgot-password"/);
    }
    h.clock.now += HOUR;
    const expired = await h.get(`/reset-password?token=${token}`);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toMatch(/This link has expired[\s\S]*action="forgot-password"[\s\S]*value="ada@example.com"/);
  });
});

describe(`POST /reset-password (${backend.name})`, () => {
  it('changes the password: 200 {status: changed}, the old one fails at once, the new one works', async () => {
    const { h, token } = await activeWithLink();
    const res = await h.post('/reset-password', { token, password: NEW_PASSWORD });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'changed' });
    expect(await login(h, GOOD_PASSWORD)).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
  });

  it('does not log the person in, mails a notice without a link, and logs no secret', async () => {
    const { h, token } = await activeWithLink();
    const before = h.mails.length;
    const res = await h.post('/reset-password', { token, password: NEW_PASSWORD });
    const body = await res.text();
    expect(body).not.toMatch(/device|user|token/i);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(h.mails.slice(before)).toEqual([expect.objectContaining({ template: 'password-changed', to: EMAIL })]);
    expect(h.mails.at(-1)!.link).toBeUndefined();
    expect(h.events.some((e) => e.event === 'password_reset')).toBe(true);
    const logged = JSON.stringify(h.events);
    for (const secret of [token, NEW_PASSWORD, await accountHash(h)]) expect(logged).not.toContain(secret);
  });

  it('stores a hash made with the configured (production) parameters', async () => {
    const { h, token } = await activeWithLink({ SCRYPT_LOG_N: '5' });
    await h.post('/reset-password', { token, password: NEW_PASSWORD });
    expect(parseHash(await accountHash(h))?.params).toEqual(h.deps.config.scrypt);
    expect(h.deps.hasher.needsRehash(await accountHash(h))).toBe(false);
  });

  it("clears the address's login back-off", async () => {
    const { h, token } = await activeWithLink();
    for (let i = 0; i < 8; i++) await login(h, OTHER_PASSWORD);
    expect(await login(h, GOOD_PASSWORD)).toBe(429);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    expect(await h.db.prepare('SELECT 1 AS x FROM throttle WHERE key = ?').bind(keys.login(EMAIL)).first()).toBeNull();
    expect(await login(h, NEW_PASSWORD)).toBe(200);
  });

  it('refuses a weak password with 422 naming /password, and the link still works after it', async () => {
    const { h, token } = await activeWithLink();
    const before = await dump(h.db);
    for (const password of ['short', 'password1234', EMAIL]) {
      const res = await h.post('/reset-password', { token, password });
      expect(res.status, password).toBe(422);
      const problem = await problemOf(res);
      expect(problem.type).toBe('urn:latchkey:problem:validation');
      expect(problem.errors.every((e) => e.pointer === '/password'), password).toBe(true);
    }
    const differs = await h.post('/reset-password', { token, password: NEW_PASSWORD, confirmPassword: OTHER_PASSWORD });
    expect(differs.status).toBe(422);
    expect((await problemOf(differs)).errors).toEqual([{ pointer: '/confirmPassword', detail: 'Must be the same as password.' }]);
    expect(await dump(h.db)).toBe(before);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD })).status).toBe(200);
  });

  it('answers 400 for an unknown or tampered token, 410 for an expired one, and a used one exactly as an unknown one', async () => {
    const { h, token } = await activeWithLink();
    const unknown = await h.post('/reset-password', { token: 'A'.repeat(43), password: NEW_PASSWORD });
    expect(unknown.status).toBe(400);
    const unknownBody = await unknown.text();
    expect(JSON.parse(unknownBody).type).toBe('urn:latchkey:problem:reset-link-invalid');
    expect((await h.post('/reset-password', { token: token + 'x', password: NEW_PASSWORD })).status).toBe(400);

    const later = await h.forgotAndGetToken(EMAIL);
    h.clock.now += HOUR;
    const expired = await h.post('/reset-password', { token: later, password: NEW_PASSWORD });
    expect(expired.status).toBe(410);
    expect((await problemOf(expired)).resend).toEqual({ method: 'POST', href: '/forgot-password' });

    h.clock.now -= 1;
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    const used = await h.post('/reset-password', { token, password: OTHER_PASSWORD });
    expect(used.status).toBe(400);
    expect(await used.text()).toBe(unknownBody);
  });

  it('answers the page form with pages: the refusal page keeps the form, then the success page', async () => {
    const { h, token } = await activeWithLink();
    const weak = await h.post('/reset-password', form({ token, password: 'short', confirmPassword: 'short' }), FORM);
    expect(weak.status).toBe(422);
    const weakHtml = await weak.text();
    expect(weakHtml).toMatch(/name="token" value="[^"]+"[\s\S]*class="error"/);
    expect(weakHtml).toContain('aria-invalid="true"');
    const differs = await h.post('/reset-password', form({ token, password: NEW_PASSWORD, confirmPassword: OTHER_PASSWORD }), FORM);
    expect(await differs.text()).toContain('The two passwords are not the same.');
    const ok = await h.post('/reset-password', form({ token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }), FORM);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('Password changed');
    const again = await h.post('/reset-password', form({ token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD }), FORM);
    expect(again.status).toBe(400);
    expect(await again.text()).toContain('action="forgot-password"');
  });

  it('lives RESET_TOKEN_TTL_SECONDS (default one hour) to the millisecond', async () => {
    const { h, token } = await activeWithLink({ RESET_TOKEN_TTL_SECONDS: '600' });
    expect(h.mails.at(-1)!.text).toContain('within 10 minutes');
    h.clock.now += 600_000 - 1;
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(200);
    h.clock.now += 1;
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(410);
    expect((await createHarness()).deps.config.resetTokenTtlSeconds).toBe(3600);
    await expect(createHarness({ RESET_TOKEN_TTL_SECONDS: String(24 * 3600 + 1) })).rejects.toThrow(/RESET_TOKEN_TTL_SECONDS/);
  });
});
