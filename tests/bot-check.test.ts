/**
 * The optional bot check (issue 28): with TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY set,
 * register, login, forgot-password and resend-activation need a Turnstile token that siteverify
 * accepts. The siteverify server is a real one on 127.0.0.1 speaking Cloudflare's JSON
 * (tests/support/third-party-peers.global.ts). A request without an accepted token costs no hash,
 * no mail and no database write.
 */
import { describe, expect, inject, it } from 'vitest';
import { backend } from '#backend';
import { loadConfig } from '../lib/config/config.ts';
import { PASSING, TURNSTILE_TEST_SECRET, TURNSTILE_TEST_SITE_KEY, type SiteverifyRequest } from './support/breach-fixtures.ts';
import { createHarness, dump, GOOD_PASSWORD, PUBLIC_URL, tokenFromLink, type Harness } from './support/harness.ts';

const siteverify = inject('siteverifyUrl');
const deadServer = inject('deadServerUrl');

const newKey = () => crypto.randomUUID();
const passing = () => `${PASSING}${crypto.randomUUID()}`;
const failing = () => `fail-${crypto.randomUUID()}`;
const asked = async (key: string) => (await (await fetch(`${siteverify.replace(/\/siteverify$/, '')}/siteverify-requests/${key}`)).json()) as SiteverifyRequest[];

function botChecked(mode = 'ok', key = newKey(), more: Record<string, string> = {}) {
  return {
    TURNSTILE_SITE_KEY: TURNSTILE_TEST_SITE_KEY,
    TURNSTILE_SECRET_KEY: TURNSTILE_TEST_SECRET,
    TURNSTILE_VERIFY_URL: `${siteverify}/${mode}/${key}`,
    ...more,
  };
}

/** Everything a request could have cost: rows (throttle counters included), hashes, mails. */
async function costOf(h: Harness) {
  const throttle = await h.db.prepare('SELECT COUNT(*) AS n FROM throttle').first<{ n: number }>();
  const outbox = await h.db.prepare('SELECT COUNT(*) AS n FROM mail_outbox').first<{ n: number }>();
  return { rows: await dump(h.db), throttle: throttle?.n, outbox: outbox?.n, hashes: { ...h.hashes }, mails: h.mails.length };
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe(`the bot check (${backend.name})`, () => {
  it('a good token passes once, sent with the secret, the client address and an idempotency key', async () => {
    const key = newKey();
    const h = await createHarness(botChecked('ok', key));
    const token = passing();
    const res = await h.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD, turnstileToken: token });
    expect(res.status).toBe(202);
    expect(h.hashes.hash).toBe(1);
    const [request, ...more] = await asked(key);
    expect(more).toEqual([]);
    expect(request).toMatchObject({ contentType: 'application/json', secret: TURNSTILE_TEST_SECRET, response: token, remoteip: '192.0.2.1' });
    expect(request!.idempotency_key).toMatch(/^[0-9a-f-]{36}$/);
    // The secret and the token stay out of the log.
    expect(JSON.stringify(h.events)).not.toContain(TURNSTILE_TEST_SECRET);
    expect(JSON.stringify(h.events)).not.toContain(token);
  });

  it('a missing token is a 422 naming /turnstileToken, a refused or reused one a 403; neither costs a hash, a mail or a write', async () => {
    const key = newKey();
    const h = await createHarness(botChecked('ok', key));
    const before = await costOf(h);

    const missing = await h.post('/login', { email: 'owner@example.com', password: GOOD_PASSWORD });
    expect(missing.status).toBe(422);
    expect(await missing.json()).toMatchObject({ errors: [{ pointer: '/turnstileToken' }] });
    expect(await asked(key)).toEqual([]);

    const refused = await h.post('/login', { email: 'owner@example.com', password: GOOD_PASSWORD, turnstileToken: failing() });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ type: 'urn:latchkey:problem:bot-check-refused', status: 403 });

    const token = passing();
    expect((await h.post('/forgot-password', { email: 'nobody@example.com', turnstileToken: token })).status).toBe(202);
    const afterOne = await costOf(h);
    const reused = await h.post('/forgot-password', { email: 'nobody@example.com', turnstileToken: token });
    expect(reused.status).toBe(403);
    expect(await costOf(h)).toEqual(afterOne);
    expect(before.hashes).toEqual(afterOne.hashes);
    expect(h.events.filter((e) => e.event === 'bot_check_failed').map((e) => [e.reason, e.codes])).toEqual([
      ['missing', undefined],
      ['refused', 'invalid-input-response'],
      ['refused', 'timeout-or-duplicate'],
    ]);
  });

  it("the host's own calls through latchkey.api need no token: the bot check guards the public endpoints, not the host's server code", async () => {
    const key = newKey();
    const h = await createHarness(botChecked('ok', key));
    expect((await h.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD })).status).toBe(422);
    expect(await h.api.register({ email: 'pat@example.com', password: GOOD_PASSWORD })).toEqual({ kind: 'accepted' });
    expect(await h.api.forgotPassword({ email: 'pat@example.com' })).toEqual({ kind: 'accepted' });
    expect((await h.api.login({ email: 'pat@example.com', password: GOOD_PASSWORD })).kind).toBe('wrong');
    // Siteverify was never asked, and the mails went out: the registration's link, and for a
    // forgotten password of a pending address, the activation link again.
    expect(await asked(key)).toEqual([]);
    await h.later.settled();
    expect(h.mails.map((m) => [m.template, m.to])).toEqual([
      ['activation', 'pat@example.com'],
      ['activation', 'pat@example.com'],
    ]);
  });

  it("takes the widget's own form field from a page's form, and answers a form with pages", async () => {
    const h = await createHarness(botChecked());
    const sent = await h.post('/resend-activation', new URLSearchParams({ email: 'pat@example.com', 'cf-turnstile-response': passing() }).toString(), FORM);
    expect(sent.status).toBe(202);
    expect(sent.headers.get('content-type')).toMatch(/text\/html/);
    const missing = await h.post('/resend-activation', new URLSearchParams({ email: 'pat@example.com' }).toString(), FORM);
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain('not a bot');
    const refused = await h.post('/forgot-password', new URLSearchParams({ email: 'pat@example.com', 'cf-turnstile-response': failing() }).toString(), FORM);
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toMatch(/text\/html/);
  });

  it('siteverify that never answers: 503 with Retry-After by default (fail closed), let through with TURNSTILE_ON_OUTAGE=open; an event either way', async () => {
    const closed = await createHarness(botChecked('slow', newKey(), { TURNSTILE_TIMEOUT_MS: '300' }));
    const res = await closed.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD, turnstileToken: passing() });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(await res.json()).toMatchObject({ type: 'urn:latchkey:problem:bot-check-unavailable' });
    expect(closed.hashes.hash).toBe(0);
    expect(closed.events.filter((e) => e.event === 'bot_check_unavailable')).toEqual([expect.objectContaining({ reason: 'timeout', onOutage: 'closed' })]);

    for (const [vars, reason] of [
      [botChecked('slow', newKey(), { TURNSTILE_TIMEOUT_MS: '300', TURNSTILE_ON_OUTAGE: 'open' }), 'timeout'],
      [{ ...botChecked(), TURNSTILE_VERIFY_URL: `${deadServer}/siteverify`, TURNSTILE_ON_OUTAGE: 'open' }, 'unreachable'],
      [botChecked('garbage', newKey(), { TURNSTILE_ON_OUTAGE: 'open' }), 'garbage'],
    ] as const) {
      const open = await createHarness(vars);
      expect((await open.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD, turnstileToken: passing() })).status, reason).toBe(202);
      expect(open.events.filter((e) => e.event === 'bot_check_unavailable'), reason).toEqual([expect.objectContaining({ reason, onOutage: 'open' })]);
      // Open to an outage, never to a missing token.
      expect((await open.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD })).status, reason).toBe(422);
    }
  });

  it('a lost answer is asked again with the same idempotency key, so the retry is not taken for a reused token', async () => {
    const key = newKey();
    const h = await createHarness(botChecked('flaky', key));
    expect((await h.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD, turnstileToken: passing() })).status).toBe(202);
    const requests = await asked(key);
    expect(requests).toHaveLength(2);
    expect(requests[1]!.idempotency_key).toBe(requests[0]!.idempotency_key);
  });

  it('attack story: credential stuffing over 200 addresses from 50 clients without an accepted token gets nothing and costs nothing', async () => {
    const key = newKey();
    // The per-client limits on, as in production: a counted request would leave a throttle row.
    const h = await createHarness(botChecked('ok', key));
    const owner = 'owner@example.com';
    const ownerToken = passing();
    expect((await h.post('/register', { email: owner, password: GOOD_PASSWORD, turnstileToken: ownerToken })).status).toBe(202);
    const before = await costOf(h);
    const verifications = (await asked(key)).length;

    const answers: number[] = [];
    for (let i = 0; i < 200; i++) {
      h.client.address = `198.51.100.${i % 50}`;
      const email = i === 0 ? owner : `victim${i}@example.com`;
      // Half send nothing, half a made-up token, and one replays the token the owner used.
      const token = i === 1 ? { turnstileToken: ownerToken } : i % 2 ? { turnstileToken: failing() } : {};
      const path = ['/login', '/forgot-password', '/resend-activation', '/register'][i % 4]!;
      const body = path === '/login' || path === '/register' ? { email, password: `${GOOD_PASSWORD} ${i}`, ...token } : { email, ...token };
      answers.push((await h.post(path, body)).status);
    }
    expect(new Set(answers)).toEqual(new Set([422, 403]));
    expect(await costOf(h)).toEqual(before);
    // Only the made-up tokens were sent to siteverify: a missing one costs not even that.
    expect((await asked(key)).length - verifications).toBe(100);
  });
});

describe('the bot check settings', () => {
  it('is off unless both keys are set; one alone, a bad site key or a bad outage rule is refused at start', () => {
    expect(loadConfig({ PUBLIC_URL }).turnstile).toBeUndefined();
    expect(loadConfig({ PUBLIC_URL, TURNSTILE_SITE_KEY: 'k', TURNSTILE_SECRET_KEY: 's' }).turnstile).toEqual({
      siteKey: 'k',
      secretKey: 's',
      verifyUrl: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      timeoutMs: 3000,
      onOutage: 'closed',
    });
    expect(() => loadConfig({ PUBLIC_URL, TURNSTILE_SITE_KEY: 'k' })).toThrow(/must be set together/);
    expect(() => loadConfig({ PUBLIC_URL, TURNSTILE_SECRET_KEY: 's' })).toThrow(/must be set together/);
    expect(() => loadConfig({ PUBLIC_URL, TURNSTILE_SITE_KEY: 'k"><script>', TURNSTILE_SECRET_KEY: 's' })).toThrow(/TURNSTILE_SITE_KEY must be letters/);
    expect(() => loadConfig({ PUBLIC_URL, TURNSTILE_ON_OUTAGE: 'maybe' })).toThrow(/TURNSTILE_ON_OUTAGE must be closed or open/);
    expect(() => loadConfig({ PUBLIC_URL, TURNSTILE_VERIFY_URL: 'nope' })).toThrow(/TURNSTILE_VERIFY_URL must be an absolute/);
  });
});

describe(`the widget on pages (${backend.name})`, () => {
  const WIDGET = `<div class="cf-turnstile" data-sitekey="${TURNSTILE_TEST_SITE_KEY}"></div>`;
  const SCRIPT = '<script src="https://challenges.cloudflare.com/turnstile/v0/api.js" async defer></script>';

  it("with a site key: in the demo page's four checked forms and in every ask-for-a-link form, and the policy lets Cloudflare's script and frame in", async () => {
    const h = await createHarness(botChecked());
    const home = await h.get('/');
    const body = await home.text();
    expect(body.split(WIDGET)).toHaveLength(5);
    expect(body.split(SCRIPT)).toHaveLength(2);
    for (const endpoint of ['register', 'login', 'resend-activation', 'forgot-password']) {
      const form = body.slice(body.indexOf(`data-endpoint="${endpoint}"`), body.indexOf('</form>', body.indexOf(`data-endpoint="${endpoint}"`)));
      expect(form, endpoint).toContain(WIDGET);
    }
    const csp = home.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self' https://challenges.cloudflare.com");
    expect(csp).toContain('frame-src https://challenges.cloudflare.com');
    expect(csp).toContain("connect-src 'self';");

    // A dead reset link's page asks for a new one with a form to forgot-password: the widget is in it.
    const dead = await h.get('/reset-password?token=nope');
    expect(dead.status).toBe(400);
    const page = await dead.text();
    expect(page).toContain(WIDGET);
    expect(page).toContain(SCRIPT);
    expect(dead.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src [^;]+; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; script-src https:\/\/challenges\.cloudflare\.com; frame-src https:\/\/challenges\.cloudflare\.com$/);
  });

  it('a page without such a form, and every page without a site key, load nothing from Cloudflare', async () => {
    const on = await createHarness(botChecked());
    const token = tokenFromLink((await on.post('/register', { email: 'pat@example.com', password: GOOD_PASSWORD, turnstileToken: passing() }), on.mails[0]?.link));
    const confirm = await on.get(`/activate?token=${token}`);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).not.toMatch(/cf-turnstile|challenges\.cloudflare\.com|bot-check/);
    expect(confirm.headers.get('content-security-policy')).not.toContain('cloudflare');

    const off = await createHarness();
    for (const path of ['/', '/reset-password?token=nope', '/activate?token=nope']) {
      const res = await off.get(path);
      expect(await res.text(), path).not.toMatch(/cf-turnstile|challenges\.cloudflare\.com|bot-check/);
      expect(res.headers.get('content-security-policy'), path).not.toContain('cloudflare');
    }
  });
});
