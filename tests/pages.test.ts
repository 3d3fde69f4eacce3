/**
 * What a person sees, checked as markup on both backends: every page is a complete, accessible
 * document that loads nothing from elsewhere and escapes what it echoes; the expired page's form
 * really gets a new link. (tests/node-only/browser.test.ts drives the same pages in Chromium.)
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEMO_SCRIPT_INTEGRITY } from '../lib/pages/demo-page.ts';
import {
  activatedPage,
  confirmPage,
  errorPage,
  expiredLinkPage,
  formErrorPage,
  invalidLinkPage,
  resendRefusedPage,
  resendSentPage,
  unavailablePage,
} from '../lib/pages/pages.ts';
import {
  expiredResetLinkPage,
  forgotRefusedPage,
  forgotSentPage,
  invalidResetLinkPage,
  passwordChangedPage,
  resetPasswordPage,
} from '../lib/pages/reset-pages.ts';
import { createHarness, GOOD_PASSWORD, tokenFromLink } from './support/harness.ts';

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const HOSTILE = `"><script>alert(1)</script><img src=x onerror=alert(2)>'&amp;`;
// Valid by the WHATWG rules (' & { } / = are allowed before the @), and dangerous if echoed raw:
// ' ends a single-quoted attribute, and "&lt" decodes to "<" in HTML text even without its ";".
const TRICKY_ADDRESS = `o'neil&lt&quot{x}/=@example.com`;
const TRICKY_ESCAPED = `o&#39;neil&amp;lt&amp;quot{x}/=@example.com`;

/** The accessibility and self-containment rules every page keeps, as checks on its markup. */
function expectWellFormedPage(page: string, { script = false } = {}) {
  expect(page.startsWith('<!doctype html>')).toBe(true);
  expect(page).toMatch(/<html lang="en">/);
  expect(page).toMatch(/<meta charset="utf-8">/);
  expect(page).toMatch(/<title>[^<]+ · Latchkey<\/title>/);
  expect(page.match(/<h1>/g)).toHaveLength(1);
  expect(page).toMatch(/<main>[\s\S]*<\/main>/);
  // Every visible control has a label that names it.
  const ids = [...page.matchAll(/<input\b(?![^>]*type="hidden")[^>]*>/g)].map((m) => /\bid="([^"]+)"/.exec(m[0])?.[1]);
  for (const id of ids) {
    expect(id, 'a visible input without an id').toBeDefined();
    expect(page).toContain(`<label for="${id}">`);
  }
  for (const button of page.matchAll(/<button\b[^>]*>([^<]*)<\/button>/g)) expect(button[1]!.trim()).not.toBe('');
  // Nothing comes from another origin, and the activation pages run no script at all.
  expect(page).not.toMatch(/\b(?:src|href|action)="(?:https?:)?\/\//i);
  expect(page).not.toMatch(/<link\b|<iframe\b|<img\b|<object\b|<embed\b/i);
  if (!script) expect(page).not.toMatch(/<script\b/i);
}

describe(`the activation pages (${backend.name})`, () => {
  it('every page is a complete, accessible document', async () => {
    const pages = await Promise.all([
      confirmPage('ada@example.com', 'A'.repeat(43)),
      activatedPage('ada@example.com', false),
      activatedPage('ada@example.com', true),
      invalidLinkPage(),
      expiredLinkPage('ada@example.com'),
      resendSentPage(),
      resendRefusedPage('ada@', 'The part after the @ is not a valid domain.'),
      formErrorPage([{ pointer: '/token', detail: 'Required.' }]),
      unavailablePage(),
      errorPage(),
    ]);
    for (const page of pages) expectWellFormedPage(page.body);
    expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 400, 410, 202, 422, 422, 503, 500]);
  });

  it('escapes everything a page echoes', async () => {
    const pages = await Promise.all([
      confirmPage(HOSTILE, HOSTILE),
      activatedPage(HOSTILE, false),
      expiredLinkPage(HOSTILE),
      resendRefusedPage(HOSTILE, HOSTILE),
      formErrorPage([{ pointer: `/${HOSTILE}`, detail: HOSTILE }]),
    ]);
    for (const { body } of pages) {
      expect(body).not.toContain('<script>');
      expect(body).not.toContain('<img');
      expect(body).not.toContain(`"><`);
      expect(body).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;amp;');
    }
  });

  it('echoes a hostile but valid address escaped, through the handlers', async () => {
    const h = await createHarness();
    // Quotes and angle brackets never get this far: the WHATWG address rules refuse them.
    expect((await h.post('/register', { email: '"<script>"@example.com', password: GOOD_PASSWORD })).status).toBe(422);
    const refused = await h.post('/resend-activation', 'email=%22%3Cscript%3E%22%40example.com', FORM);
    expect(refused.status).toBe(422);
    const refusedPage = await refused.text();
    expect(refusedPage).toContain('value="&quot;&lt;script&gt;&quot;@example.com"');
    expect(refusedPage).not.toContain('<script>');
    const token = await h.registerAndGetToken(TRICKY_ADDRESS);
    const confirm = await (await h.get(`/activate?token=${token}`)).text();
    expect(confirm).toContain(`<strong>${TRICKY_ESCAPED}</strong>`);
    expect(confirm).not.toContain(TRICKY_ADDRESS);

    h.clock.now += 2 * 24 * 60 * 60 * 1000;
    const expired = await h.get(`/activate?token=${token}`);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain(`value="${TRICKY_ESCAPED}"`);

    const fresh = await h.post('/resend-activation', new URLSearchParams({ email: TRICKY_ADDRESS }).toString(), FORM);
    expect(fresh.status).toBe(202);
    const link = h.mails.at(-1)!.link;
    // A password that is not the registration's own gets the page that asks for it twice, address escaped.
    const twice = await h.post('/activate', new URLSearchParams({ token: tokenFromLink(link), password: 'not the one from the registration' }).toString(), FORM);
    expect(twice.status).toBe(422);
    expect(await twice.text()).toContain(`<strong>${TRICKY_ESCAPED}</strong>`);
    const done = await h.post('/activate', new URLSearchParams({ token: tokenFromLink(link), password: GOOD_PASSWORD }).toString(), FORM);
    expect(await done.text()).toContain(`<strong>${TRICKY_ESCAPED}</strong>`);
  });

  it("the expired page's form gets a new link that works", async () => {
    const h = await createHarness();
    const old = await h.registerAndGetToken('ada@example.com');
    h.clock.now += 25 * 60 * 60 * 1000;

    const expired = await h.get(`/activate?token=${old}`);
    expect(expired.status).toBe(410);
    const page = await expired.text();
    expectWellFormedPage(page);
    // The form posts, relative to the page, the address the link was for.
    expect(page).toMatch(/<form method="post" action="resend-activation">/);
    expect(page).toContain('name="email" type="email" autocomplete="email" required value="ada@example.com"');

    const sent = await h.post('/resend-activation', 'email=ada%40example.com', FORM);
    expect(sent.status).toBe(202);
    expect(sent.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await sent.text()).toContain('<h1>Check your mail</h1>');
    const mail = h.mails.at(-1)!;
    expect(mail).toMatchObject({ template: 'activation', to: 'ada@example.com' });

    const activated = await h.post('/activate', new URLSearchParams({ token: tokenFromLink(mail.link), password: GOOD_PASSWORD }).toString(), FORM);
    expect(activated.status).toBe(200);
    expect(await activated.text()).toContain('<h1>Account activated</h1>');
    expect((await h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('a page form with a bad address gets the form back, saying what is wrong', async () => {
    const h = await createHarness();
    const res = await h.post('/resend-activation', 'email=ada%40', FORM);
    expect(res.status).toBe(422);
    const page = await res.text();
    expectWellFormedPage(page);
    expect(page).toContain('<p class="error" id="email-error">An email address needs a name, an @ and a domain.</p>');
    expect(page).toContain('value="ada@" aria-invalid="true" aria-describedby="email-error"');
    expect(h.mails).toHaveLength(0);
  });

  it('pages allow only their own stylesheet, by its hash, and no script', async () => {
    const h = await createHarness();
    const res = await h.get('/activate');
    expect(res.status).toBe(400);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('script-src');
    const style = /<style>([\s\S]*?)<\/style>/.exec(await res.text())![1]!;
    expect(csp).toContain(`style-src 'sha256-${createHash('sha256').update(style).digest('base64')}'`);
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });
});

describe(`the password reset pages (${backend.name})`, () => {
  it('every page is a complete, accessible document', async () => {
    const pages = await Promise.all([
      resetPasswordPage('ada@example.com', 'A'.repeat(43), [], 15),
      resetPasswordPage('ada@example.com', 'A'.repeat(43), ['Too short.'], 15),
      passwordChangedPage('ada@example.com'),
      invalidResetLinkPage(),
      expiredResetLinkPage('ada@example.com'),
      forgotSentPage(),
      forgotRefusedPage('ada@', 'The part after the @ is not a valid domain.'),
    ]);
    for (const page of pages) expectWellFormedPage(page.body);
    expect(pages.map((p) => p.status)).toEqual([200, 422, 200, 400, 410, 202, 422]);
  });

  it('escapes everything a page echoes', async () => {
    const pages = await Promise.all([
      resetPasswordPage(HOSTILE, HOSTILE, [HOSTILE], 15),
      passwordChangedPage(HOSTILE),
      expiredResetLinkPage(HOSTILE),
      forgotRefusedPage(HOSTILE, HOSTILE),
    ]);
    for (const { body } of pages) {
      expect(body).not.toContain('<script>');
      expect(body).not.toContain(HOSTILE);
      expect(body).toContain('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&#39;&amp;amp;');
    }
  });

  it('echoes a hostile but valid address escaped, through the handlers', async () => {
    const h = await createHarness();
    await h.createActiveAccount(TRICKY_ADDRESS);
    const token = await h.forgotAndGetToken(TRICKY_ADDRESS);
    const page = await (await h.get(`/reset-password?token=${token}`)).text();
    expect(page).toContain(`<strong>${TRICKY_ESCAPED}</strong>`);
    expect(page).not.toContain(TRICKY_ADDRESS);
    h.clock.now += 2 * 60 * 60 * 1000;
    expect(await (await h.get(`/reset-password?token=${token}`)).text()).toContain(`value="${TRICKY_ESCAPED}"`);
  });
});

describe(`the demo page (${backend.name})`, () => {
  it('is an accessible page whose forms wait for its script', async () => {
    const h = await createHarness({ PASSWORD_MIN_LENGTH: '12' });
    const res = await h.get('/');
    expect(res.status).toBe(200);
    const page = await res.text();
    expectWellFormedPage(page, { script: true });
    for (const endpoint of ['register', 'login', 'resend-activation', 'forgot-password', 'change-password', 'change-email', 'delete-account']) {
      expect(page).toMatch(new RegExp(`<form data-endpoint="${endpoint}" method="post" action="#" novalidate>\\s*<fieldset disabled>`));
    }
    // The session's buttons wait for the script too; "logged in as …" and each result are status regions.
    expect(page).toMatch(/<div data-session-actions>\s*<fieldset disabled>/);
    expect(page.match(/role="status" aria-live="polite"/g)).toHaveLength(9);
    expect(page).toContain('autocomplete="new-password"');
    expect(page).toContain('autocomplete="current-password"');
    expect(page).toContain('At least 12 characters');
    expect(page).toMatch(/<noscript>[\s\S]*needs JavaScript[\s\S]*<\/noscript>/);
  });

  it('loads one script, from this origin, exactly the one served', async () => {
    const h = await createHarness();
    const res = await h.get('/');
    const csp = res.headers.get('content-security-policy')!;
    const directives = csp.split(/;\s*/);
    expect(directives.filter((d) => !d.startsWith('style-src')).sort()).toEqual(
      ["base-uri 'none'", "connect-src 'self'", "default-src 'none'", "form-action 'self'", "frame-ancestors 'none'", "script-src 'self'"].sort(),
    );
    expect(directives.filter((d) => d.startsWith('style-src'))).toEqual([expect.stringMatching(/^style-src 'sha256-[A-Za-z0-9+/]+=*'$/)]);
    const page = await res.text();
    expect([...page.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])).toEqual([`<script src="demo.js" integrity="${DEMO_SCRIPT_INTEGRITY}" defer>`]);

    const script = await h.get('/demo.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('x-content-type-options')).toBe('nosniff');
    const source = await script.text();
    expect(`sha384-${createHash('sha384').update(source).digest('base64')}`).toBe(DEMO_SCRIPT_INTEGRITY);
    // It builds text nodes only: nothing from the server or the person becomes markup.
    expect(source).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(/);
    // The rest of the app keeps the strict policy.
    expect((await h.get('/health')).headers.get('content-security-policy')).not.toContain('script-src');
  });
});
