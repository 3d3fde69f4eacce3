/**
 * The page version of POST /mfa/totp/setup in Chromium (issue 26): the QR code is an inline SVG the
 * page's strict policy lets through (nothing is loaded, no CSP complaint), the page passes the
 * accessibility audit, and the key it shows as text is the one the server keeps pending.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { ARTIFACTS, axeViolations, chromiumForFile } from '../support/chromium.ts';
import { createHarness, GOOD_PASSWORD } from '../support/harness.ts';
import { codeNow } from '../support/totp.ts';

const browser = chromiumForFile();

describe('the authenticator setup page, in Chromium', () => {
  it('shows the QR code under its own policy, passes the audit, and names the pending key', { timeout: 120_000 }, async () => {
    const h = await createHarness();
    await h.createActiveAccount('ada@example.com');
    const session = await h.logIn('ada@example.com');
    const res = await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD }, { Accept: 'text/html' });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy');
    expect(csp).toContain("default-src 'none'");
    const markup = await res.text();

    // Served as the server serves it, with its own Content-Security-Policy header.
    const context = await browser().newContext({ javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const complaints: string[] = [];
      const requests: string[] = [];
      page.on('console', (message) => complaints.push(message.text()));
      page.on('request', (request) => requests.push(request.url()));
      await page.route('https://accounts.example.test/mfa/totp/setup', (route) =>
        route.fulfill({ status: 200, headers: { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Security-Policy': csp! }, body: markup }),
      );
      await page.goto('https://accounts.example.test/mfa/totp/setup');
      const qr = page.getByRole('img', { name: 'QR code of the authenticator secret' });
      const box = await qr.boundingBox();
      expect(box?.width).toBeGreaterThanOrEqual(200);
      expect(box?.height).toBe(box?.width);
      const key = (await page.locator('#totp-secret').textContent())!.replace(/ /g, '');
      expect(key).toMatch(/^[A-Z2-7]{32}$/);
      await page.screenshot({ path: join(ARTIFACTS, 'totp-setup.png'), fullPage: true });
      expect(requests).toEqual(['https://accounts.example.test/mfa/totp/setup']);
      expect(complaints, 'console (CSP refusals)').toEqual([]);
      expect(await axeViolations(browser(), markup)).toEqual([]);
      // The key shown is the pending one: its code turns it on.
      expect((await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, key) })).status).toBe(200);
    } finally {
      await context.close();
    }
  });
});
