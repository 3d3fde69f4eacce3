/**
 * Each rendered mail's HTML part as a reader's mail app would show it, in Debian's Chromium with
 * scripts off and every request refused: at a phone's width and a desktop's, with a screenshot of
 * each in test-artifacts/browser/mail-<template>.png (phone) and mail-<template>-desktop.png, an
 * axe-core audit that must find nothing, a button and a link to copy that both carry the mail's
 * link, and no sideways scrolling on a phone, down to a 320 px one.
 */
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { noticeMail } from '../../lib/mail/mail.ts';
import { renderMail } from '../../lib/mail/render.ts';
import { ARTIFACTS, axeViolations, chromiumForFile } from '../support/chromium.ts';
import { EVERY_TEMPLATE } from '../support/mail-templates.ts';

const BRAND = { appName: 'Latchkey', from: 'Latchkey <noreply@example.com>' };
const PHONE = { width: 390, height: 844 };
// The narrowest phones still in use (iPhone SE, small Androids): the sideways check runs there too.
const SMALL_PHONE = { width: 320, height: 568 };
const DESKTOP = { width: 1280, height: 800 };
const TIMEOUT = 60_000;
// Apple's and Google's guidance for a thumb; WCAG 2.2's own minimum (24 px) is well below it.
const MIN_TAP_HEIGHT = 44;

const browser = chromiumForFile();

/**
 * The HTML part opened as a mail app would: no script, nothing fetched. Calls `look` with the page,
 * then checks that the page asked for nothing from anywhere.
 */
async function opened(html: string, viewport: { width: number; height: number }, look: (page: Page) => Promise<void>) {
  const context = await browser().newContext({ javaScriptEnabled: false, viewport });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.route('**/*', (route) => route.abort());
    await page.setContent(html);
    await look(page);
    expect(requests, 'requests from the mail').toEqual([]);
  } finally {
    await context.close();
  }
}

/** How wide the document is against the window: wider means the reader scrolls sideways. */
const widths = (page: Page) => page.evaluate<{ scrollWidth: number; innerWidth: number }>('({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth })');

async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

describe('rendered mails in Chromium', () => {
  it.each(EVERY_TEMPLATE)('%s: readable on a phone and a desktop, accessible, one link everywhere', { timeout: TIMEOUT }, async (name, mail) => {
    const out = renderMail(mail, BRAND, `test-${name}`);
    expect(await axeViolations(browser(), out.html), `accessibility of mail-${name}`).toEqual([]);
    const textLinks = out.text.split('\n').filter((line) => line.includes('://'));

    await opened(out.html, PHONE, async (page) => {
      await expect(page.title()).resolves.toBe(out.subject);
      await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Latchkey');
      const { scrollWidth, innerWidth } = await widths(page);
      expect(scrollWidth, 'document width at phone width').toBeLessThanOrEqual(innerWidth);
      await shot(page, `mail-${name}`);

      const links = page.getByRole('link');
      if (mail.link === undefined) {
        await expect(links.count()).resolves.toBe(0);
        expect(textLinks).toEqual([]);
        return;
      }
      // One link, the button; the same address is shown as text to copy below it.
      await expect(links.count()).resolves.toBe(1);
      const button = links.first();
      const href = await button.getAttribute('href');
      const copied = await page.locator('p', { hasText: 'Or copy this link' }).locator('span').innerText();
      expect(href).toBe(mail.link);
      expect(copied).toBe(href);
      expect(textLinks).toEqual([href]);
      const box = await button.boundingBox();
      expect(box!.height, 'the button is big enough for a thumb').toBeGreaterThanOrEqual(MIN_TAP_HEIGHT);
      expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
    });

    await opened(out.html, SMALL_PHONE, async (page) => {
      const { scrollWidth, innerWidth } = await widths(page);
      expect(scrollWidth, 'document width at small phone width').toBeLessThanOrEqual(innerWidth);
    });

    await opened(out.html, DESKTOP, async (page) => {
      // The column keeps lines short on a wide screen instead of running across it.
      const column = await page.locator('[role="article"]').boundingBox();
      expect(column!.width).toBeLessThanOrEqual(600);
      await shot(page, `mail-${name}-desktop`);
    });
  });

  it('an address as long as an address can be does not push the mail sideways on a phone', { timeout: TIMEOUT }, async () => {
    const to = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.example`;
    const out = renderMail(noticeMail('account-deleted', to), BRAND, 'test-long-address');
    await opened(out.html, SMALL_PHONE, async (page) => {
      const { scrollWidth, innerWidth } = await widths(page);
      expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
      await expect(page.locator('p').last().innerText()).resolves.toContain(to);
      await shot(page, 'mail-long-address');
    });
  });
});
