/**
 * The Turnstile widget in Debian's Chromium against the real Node server with the bot check on
 * (issue 28). Cloudflare's script is replaced by a stub that the browser fetches from its real
 * address (Playwright answers the request: no network), so the page's Content-Security-Policy is
 * what lets it run or not. The stub behaves as Cloudflare's documented test keys do: it renders
 * into each `.cf-turnstile` and puts a token in the hidden `cf-turnstile-response` field of the
 * form; each reset makes a new one. The tokens then go to the siteverify server on 127.0.0.1
 * (tests/support/third-party-peers.global.ts), which passes each once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PASSING, TURNSTILE_TEST_SECRET, TURNSTILE_TEST_SITE_KEY, type SiteverifyRequest } from '../support/breach-fixtures.ts';
import { LAUNCH_TIMEOUT, launchChromium } from '../support/chromium.ts';
import { freePort, startServer, type ServerProcess } from '../../scripts/support/server-process.ts';

const siteverify = inject('siteverifyUrl');
const TIMEOUT = 120_000;
const POLL = { timeout: 15_000, interval: 50 };

// What Cloudflare's api.js does, as far as a form sees it: a widget in each container, a token in
// the form's cf-turnstile-response field, a new one on reset.
const STUB = `(function () {
  function fill(container) {
    var form = container.closest('form');
    var input = form.querySelector('input[name="cf-turnstile-response"]');
    if (!input) { input = document.createElement('input'); input.type = 'hidden'; input.name = 'cf-turnstile-response'; form.appendChild(input); }
    input.value = '${PASSING}' + Math.random().toString(36).slice(2) + Date.now();
    container.setAttribute('data-rendered', container.getAttribute('data-sitekey'));
  }
  document.querySelectorAll('.cf-turnstile').forEach(fill);
  window.turnstile = { reset: function (container) { fill(container); } };
})();`;

let browser: Browser;
let server: ServerProcess;
let dir: string;
const key = crypto.randomUUID();

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-bot-check-'));
  const port = String(await freePort());
  server = await startServer(
    {
      DATABASE_PATH: join(dir, 'bot.sqlite'),
      PORT: port,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      TURNSTILE_SITE_KEY: TURNSTILE_TEST_SITE_KEY,
      TURNSTILE_SECRET_KEY: TURNSTILE_TEST_SECRET,
      TURNSTILE_VERIFY_URL: `${siteverify}/ok/${key}`,
    },
    [process.execPath, '--disable-warning=ExperimentalWarning', 'functions/server.ts'],
  );
}, LAUNCH_TIMEOUT);

afterAll(async () => {
  await server?.stop();
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the Turnstile widget in Chromium', () => {
  it("the page's policy lets the widget's script run; the demo page registers twice with two tokens, each verified once", { timeout: TIMEOUT }, async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const foreign: string[] = [];
    const complaints: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(`${server.url}/`)) foreign.push(request.url());
    });
    page.on('console', (message) => void (message.type() === 'error' && complaints.push(message.text())));
    page.on('pageerror', (error) => complaints.push(error.message));
    await page.route('https://challenges.cloudflare.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: STUB }));

    await page.goto(`${server.url}/`);
    const register = page.locator('form[data-endpoint="register"]');
    // The stub ran (the CSP let it): the widget in the register form holds the site key.
    await expect.poll(() => register.locator('.cf-turnstile').getAttribute('data-rendered'), POLL).toBe(TURNSTILE_TEST_SITE_KEY);
    await expect.poll(() => register.getByLabel('Email address').isEnabled(), POLL).toBe(true);
    for (const address of ['first@example.com', 'second@example.com']) {
      await register.getByLabel('Email address').fill(address);
      await register.getByLabel('Password', { exact: true }).fill('correct horse battery staple');
      await register.getByRole('button', { name: 'Register' }).click();
      await expect.poll(() => register.getByRole('status').getAttribute('data-status'), POLL).toBe('202');
      await register.getByRole('status').evaluate((node) => node.removeAttribute('data-status'));
    }
    const asked = (await (await fetch(`${siteverify.replace(/\/siteverify$/, '')}/siteverify-requests/${key}`)).json()) as SiteverifyRequest[];
    expect(asked).toHaveLength(2);
    expect(asked[0]!.response).not.toBe(asked[1]!.response);
    expect(asked.every((a) => a.remoteip === '127.0.0.1' && a.secret === TURNSTILE_TEST_SECRET)).toBe(true);

    // The only request to another origin was the widget's script; nothing was refused by the policy.
    expect(foreign).toEqual(['https://challenges.cloudflare.com/turnstile/v0/api.js']);
    expect(complaints).toEqual([]);
    await context.close();
  });
});
