/**
 * Debian's Chromium driven by playwright-core (never a downloaded browser), and axe-core's audit
 * of a page's markup: what every browser test shares. scripts/ensure-chromium.sh installs the
 * browser with apt when it is missing; without one the tests fail, they never skip.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const LAUNCH_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
/** Where the screenshots go. */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/browser', import.meta.url));
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** For beforeAll: an apt install of the browser can take minutes on a fresh machine. */
export const LAUNCH_TIMEOUT = 660_000;

/** The browser, installed first if missing, with the screenshots' folder ready. */
export async function launchChromium(): Promise<Browser> {
  // `npm test` alone works on a fresh machine too: Debian's Chromium comes from apt when missing.
  if (!existsSync(CHROMIUM)) execFileSync('bash', [fileURLToPath(new URL('../../scripts/ensure-chromium.sh', import.meta.url))], { stdio: 'inherit', timeout: 600_000 });
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, headless: true });
}

/**
 * The browser of a test file that needs nothing else started with it: launched before the file's
 * tests, closed after them. Call the returned function inside a test.
 */
export function chromiumForFile(): () => Browser {
  let browser: Browser | undefined;
  beforeAll(async () => {
    browser = await launchChromium();
  }, LAUNCH_TIMEOUT);
  afterAll(async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium did not start');
    return browser;
  };
}

/**
 * The tab each browser's audits run in, opened on its first audit and kept: a fresh context and a
 * fresh parse of axe's script cost about 0.5 s an audit, against 0.1 s in a kept tab, and the
 * browser tests audit dozens of pages. Each audit replaces the tab's document, and the audits of
 * one browser take turns in it.
 */
const auditors = new WeakMap<Browser, { tab: Promise<Page>; turn: Promise<unknown> }>();

async function openAuditor(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ bypassCSP: true });
  const tab = await context.newPage();
  await tab.route('**/*', (route) => route.abort());
  return tab;
}

/**
 * The accessibility faults axe-core finds (WCAG 2.x A/AA and best practices) in a page's markup. It
 * runs on a copy of the markup in a tab of its own that may run the axe script and fetches nothing;
 * the page under test keeps its own CSP and JavaScript setting.
 */
export function axeViolations(browser: Browser, markup: string): Promise<string[]> {
  let auditor = auditors.get(browser);
  if (!auditor) auditors.set(browser, (auditor = { tab: openAuditor(browser), turn: Promise.resolve() }));
  const { tab } = auditor;
  const audit = auditor.turn.then(async () => {
    const page = await tab;
    await page.setContent(markup);
    await page.addScriptTag({ content: AXE });
    // A string, evaluated in the page: this project's TypeScript has no DOM types.
    return page.evaluate<string[]>(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} } })
      .then((result) => result.violations.map((v) => v.id + ': ' + v.help + ' at ' + JSON.stringify(v.nodes.map((n) => n.target))))`);
  });
  auditor.turn = audit.catch(() => undefined);
  return audit;
}
