/**
 * Development mode (issue 12), on both backends: a loopback PUBLIC_URL switches the per-client
 * allowances off by default and nothing else; a public one keeps today's defaults; an explicit
 * setting wins either way. The development mailbox (GET /dev/mail) exists only in development mode
 * and only for this machine; an undeclared proxy is reported once.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createApp } from '../functions/app.ts';
import { undeclaredProxyWarning } from '../lib/http/client-address.ts';
import { parseAddressRanges } from '../lib/policy/ip-addresses.ts';
import { DEFAULT_THROTTLE, describeMode, loadConfig, modeOf } from '../lib/config/config.ts';
import { developmentMailbox, MAILBOX_CAPACITY, memoryMailbox } from '../lib/mail/mailbox.ts';
import { mailboxPage } from '../lib/pages/mailbox-page.ts';
import { PAGE_CSP } from '../lib/pages/pages.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, PUBLIC_URL, type Harness } from './support/harness.ts';

const LOOPBACK_URLS = [
  'http://localhost:8787',
  'http://LOCALHOST',
  'http://app.localhost:3000/auth',
  'http://127.0.0.1:8787',
  'http://127.8.9.10',
  'http://[::1]:8787',
  'https://[::ffff:127.0.0.1]',
];
const PUBLIC_URLS = [PUBLIC_URL, 'https://localhost.example.com', 'http://128.0.0.1', 'http://10.0.0.1:8787', 'http://[::2]', 'https://example.com/localhost'];
const OFF = (windowSeconds: number) => ({ limit: 0, windowSeconds });
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/** A harness whose deps are wired as the entry points wire them: mails also kept in a mailbox. */
async function withMailbox(vars: Record<string, string>) {
  const h = await createHarness(vars);
  h.deps.mailbox = developmentMailbox(h.deps.config, memoryMailbox());
  h.client.address = '127.0.0.1';
  // The mailbox is not part of the API, so its document does not describe it: these requests go
  // to the app without the harness's contract check (the 404s below do go through it).
  const app = createApp(() => h.deps);
  return {
    h,
    page: (method = 'GET', headers: Record<string, string> = {}) => Promise.resolve(app.request('/dev/mail', { method, headers })),
  };
}

/**
 * Headers by which a relay on this machine (a tunnel, a reverse proxy, a CDN's origin pull) names
 * the far client, each with a loopback value: a relay's word for where the client is cannot be
 * checked, so any of them at all means the request came through one (issue 23 §3c).
 */
const RELAY_HEADERS: Array<Record<string, string>> = [
  { 'X-Forwarded-For': '127.0.0.1' },
  { 'X-Forwarded-For': '::1' },
  { 'X-Forwarded-Host': 'localhost:8787' },
  { 'X-Forwarded-Proto': 'https' },
  { Forwarded: 'for="[::1]"' },
  { Forwarded: 'proto=https' },
  { 'X-Real-IP': '127.0.0.1' },
  { 'True-Client-IP': '198.51.100.7' },
  { 'True-Client-IP': '127.0.0.1' },
  { 'X-Client-IP': '198.51.100.7' },
  { 'Fastly-Client-IP': '198.51.100.7' },
  { Via: '1.1 ngrok' },
];

const register = (h: Harness, email: string) => h.post('/register', { email, password: GOOD_PASSWORD });

describe(`development mode, decided by PUBLIC_URL (${backend.name})`, () => {
  it('is development exactly when the host is loopback', () => {
    for (const url of LOOPBACK_URLS) expect(modeOf(url), url).toBe('development');
    for (const url of PUBLIC_URLS) expect(modeOf(url), url).toBe('production');
  });

  it('loopback: per-client allowances default to off, per-address ones stay as they were', () => {
    for (const url of LOOPBACK_URLS) {
      const config = loadConfig({ PUBLIC_URL: url });
      expect(config.mode).toBe('development');
      expect(config.throttle).toEqual({
        perClient: { register: OFF(600), login: OFF(600), resend: OFF(600), activate: OFF(600), forgot: OFF(600), reset: OFF(600) },
        mailPerAddressClient: DEFAULT_THROTTLE.mailPerAddressClient,
        mailPerAddress: DEFAULT_THROTTLE.mailPerAddress,
        mailNewClients: DEFAULT_THROTTLE.mailNewClients,
        loginFailures: DEFAULT_THROTTLE.loginFailures,
      });
    }
  });

  it('public: every default exactly as before', () => {
    for (const url of PUBLIC_URLS) {
      const config = loadConfig({ PUBLIC_URL: url });
      expect(config.mode).toBe('production');
      expect(config.throttle).toEqual(DEFAULT_THROTTLE);
    }
  });

  it('an explicit setting wins in both modes', () => {
    const dev = loadConfig({ PUBLIC_URL: 'http://localhost:8787', LIMIT_REGISTER_PER_CLIENT: '3/60', LIMIT_MAIL_PER_ADDRESS: 'off' });
    expect(dev.throttle.perClient.register).toEqual({ limit: 3, windowSeconds: 60 });
    expect(dev.throttle.perClient.login).toEqual(OFF(600));
    expect(dev.throttle.mailPerAddress.limit).toBe(0);
    const prod = loadConfig({ PUBLIC_URL, LIMIT_LOGIN_PER_CLIENT: 'off', LOGIN_FREE_FAILURES: '3' });
    expect(prod.throttle.perClient.login.limit).toBe(0);
    expect(prod.throttle.perClient.register).toEqual(DEFAULT_THROTTLE.perClient.register);
    expect(prod.throttle.loginFailures.freeFailures).toBe(3);
  });

  it('the start-up words say which mode and what it set', () => {
    const dev = describeMode(loadConfig({ PUBLIC_URL: 'http://localhost:8787', LIMIT_LOGIN_PER_CLIENT: '9/60' }));
    expect(dev).toMatch(/^PUBLIC_URL points at this machine, so per-client allowances default to off/);
    expect(dev).toContain('register off, login 9/60s, resend off, activate off, forgot off, reset off');
    expect(dev).toContain('per-address ones stay on (mail 5/3600s per client, 20/3600s in all, login back-off after 5 failures)');
    expect(describeMode(loadConfig({ PUBLIC_URL }))).toContain('register 20/600s, login 60/600s, resend 10/600s, activate 60/600s, forgot 10/600s, reset 60/600s');
  });
});

describe(`development mode, as one client sees it (${backend.name})`, () => {
  it('loopback: 30 registrations, activations and logins from one client, no 429', async () => {
    const h = await createHarness({ PUBLIC_URL: 'http://localhost:8787' });
    h.client.address = '127.0.0.1';
    for (let i = 0; i < 30; i++) {
      const email = `dev${i}@example.com`;
      await h.createActiveAccount(email);
      expect((await h.post('/login', { email, password: GOOD_PASSWORD })).status).toBe(200);
    }
    expect(h.events.filter((e) => e.event === 'throttled')).toEqual([]);
  });

  it('loopback: the mail allowance still holds back mail, and the login back-off still answers 429, for one address', async () => {
    const h = await createHarness({ PUBLIC_URL: 'http://localhost:8787' });
    const statuses = [];
    for (let i = 0; i < 6; i++) statuses.push((await register(h, 'bombed@example.com')).status);
    // Past the allowance the answer stays 202 and only the mail is left out.
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202]);
    expect(h.mails.filter((m) => m.to === 'bombed@example.com')).toHaveLength(5);

    await h.createActiveAccount('guessed@example.com');
    const guesses = [];
    for (let i = 0; i < 7; i++) guesses.push((await h.post('/login', { email: 'guessed@example.com', password: OTHER_PASSWORD })).status);
    expect(guesses).toContain(429);
    expect(new Set(h.events.filter((e) => e.event === 'throttled').map((e) => e.rule))).toEqual(new Set(['mail', 'login']));
  });

  it('public: the 21st registration from one client is refused, as before', async () => {
    const h = await createHarness({ PUBLIC_URL });
    for (let i = 0; i < 20; i++) expect((await register(h, `p${i}@example.com`)).status).toBe(202);
    expect((await register(h, 'p20@example.com')).status).toBe(429);
    expect(h.events.find((e) => e.event === 'throttled')).toMatchObject({ rule: 'client', path: '/register' });
  });

  it('loopback with an explicit per-client allowance: that allowance holds', async () => {
    const h = await createHarness({ PUBLIC_URL: 'http://127.0.0.1:8787', LIMIT_REGISTER_PER_CLIENT: '2/600' });
    expect((await register(h, 'a@example.com')).status).toBe(202);
    expect((await register(h, 'b@example.com')).status).toBe(202);
    expect((await register(h, 'c@example.com')).status).toBe(429);
  });
});

describe(`the development mailbox (${backend.name})`, () => {
  it('is 404 on every method in production mode, even with a mailbox wired in by mistake', async () => {
    const h = await createHarness({ PUBLIC_URL });
    h.deps.mailbox = memoryMailbox();
    h.client.address = '127.0.0.1';
    await register(h, 'ada@example.com');
    for (const method of METHODS) {
      // Through the harness: the contract check insists on the app's plain 404 problem.
      const res = await h.app.request('/dev/mail', { method });
      expect(res.status, method).toBe(404);
      if (method !== 'HEAD') expect(await res.text()).not.toContain('token=');
    }
    expect(await (await h.get('/')).text()).not.toContain('dev/mail');
  });

  it('shows the mails sent since start, newest first, links clickable, under the pages\' CSP', async () => {
    const { h, page } = await withMailbox({ PUBLIC_URL: 'http://localhost:8787' });
    const empty = await page();
    expect(empty.status).toBe(200);
    expect(await empty.text()).toContain('No mail yet');

    const first = await h.registerAndGetToken('first@example.com');
    h.clock.now += 1000;
    const second = await h.registerAndGetToken('second@example.com');
    expect(h.mails).toHaveLength(2); // the sink behind the mailbox still gets every mail

    const res = await page();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const text = await res.text();
    const link = (token: string) => `<a href="http://localhost:8787/activate?token=${token}">http://localhost:8787/activate?token=${token}</a>`;
    expect(text).toContain(link(first));
    expect(text).toContain(link(second));
    expect(text.indexOf('second@example.com')).toBeLessThan(text.indexOf('first@example.com'));
    expect(text).not.toMatch(/<script\b/i);
    expect((await page('POST')).status).toBe(404);

    // The demo page points at it, in step 2.
    const demo = await (await h.get('/')).text();
    expect(demo).toContain('data-mailbox="dev/mail"');
    expect(demo).toContain('<a href="dev/mail">the development mailbox</a>');
  });

  it('is only for this machine: another client gets 404 and a demo page without it', async () => {
    const { h, page } = await withMailbox({ PUBLIC_URL: 'http://localhost:8787' });
    await h.registerAndGetToken('ada@example.com');
    for (const address of ['::1', '127.0.0.2']) {
      h.client.address = address;
      expect((await page()).status, address).toBe(200);
    }
    for (const address of ['192.168.1.20', '2001:db8::1', 'unknown']) {
      h.client.address = address;
      expect((await page()).status, address).toBe(404);
      expect(await (await h.get('/')).text()).not.toContain('dev/mail');
    }
  });

  it('is not for a client that a relay on this machine forwards: any forwarding header means 404, whatever it names', async () => {
    const { h, page } = await withMailbox({ PUBLIC_URL: 'http://localhost:8787' });
    await h.registerAndGetToken('ada@example.com');
    expect((await page()).status).toBe(200);
    for (const headers of RELAY_HEADERS) {
      const res = await page('GET', headers);
      expect(res.status, JSON.stringify(headers)).toBe(404);
      expect(await res.text()).not.toContain('token=');
    }
    // CF-Connecting-IP is how Workers (and wrangler dev, npm run dev:edge) say who the client is,
    // so there it is no relay's mark; on Node nothing but a relay sets it.
    const cf = await page('GET', { 'CF-Connecting-IP': '127.0.0.1' });
    expect(cf.status).toBe(backend.name === 'workerd' ? 200 : 404);
  });

  it('keeps the last 50 only, in memory', async () => {
    const mailbox = memoryMailbox();
    for (let i = 0; i < MAILBOX_CAPACITY + 10; i++) mailbox.keep({ template: 'already-active', to: `m${i}@example.com`, subject: `Mail ${i}`, text: 'x' }, i);
    const kept = mailbox.list();
    expect(kept).toHaveLength(MAILBOX_CAPACITY);
    expect(kept[0]!.mail.subject).toBe(`Mail ${MAILBOX_CAPACITY + 9}`);
    expect(kept.at(-1)!.mail.subject).toBe('Mail 10');
  });

  it('escapes everything it shows', async () => {
    const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>'&amp;`;
    const link = `http://localhost:8787/activate?token=a"><script>alert(3)</script>`;
    const page = await mailboxPage([{ mail: { template: 'activation', to: hostile, subject: hostile, text: `${hostile}\n${link}\n${hostile}`, link }, sentAt: 0 }], 50);
    expect(page).not.toContain('<script>');
    expect(page).not.toContain('<img');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).toContain('href="http://localhost:8787/activate?token=a&quot;&gt;&lt;script&gt;alert(3)&lt;/script&gt;"');
  });
});

describe(`a proxy nobody declared (${backend.name})`, () => {
  it('is reported once, with the fix, and a trusted proxy or a plain client is not', () => {
    const events: Array<Record<string, unknown>> = [];
    const log = (event: string, fields = {}) => void events.push({ event, ...fields });
    const warn = undeclaredProxyWarning(parseAddressRanges('10.0.0.0/8,192.168.0.0/16'), log);
    warn('10.1.2.3', '198.51.100.1'); // a trusted proxy
    warn('192.168.7.8', '198.51.100.1'); // one in the second range listed
    warn('203.0.113.9', undefined); // a client, no header
    warn('203.0.113.9', ''); // an empty header
    warn(undefined, '198.51.100.1'); // a socket that has no address any more (closed)
    warn('not an address', '198.51.100.1');
    expect(events).toEqual([]);
    warn('203.0.113.9', '198.51.100.1');
    warn('203.0.113.9', '198.51.100.2');
    warn('192.0.2.50', '198.51.100.3');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: 'proxy_not_trusted', peer: '203.0.113.9' });
    expect(String(events[0]!.detail)).toMatch(/^A request from 203\.0\.113\.9 carried X-Forwarded-For, but TRUSTED_PROXIES does not list 203\.0\.113\.9/);
    expect(String(events[0]!.detail)).toMatch(/shares one per-client allowance: set TRUSTED_PROXIES=203\.0\.113\.9/);
  });
});
