/**
 * A person's whole path, in Debian's Chromium (playwright-core; never a downloaded browser) against
 * the real Node server: register on the demo page, take the link from the server's mail line, open
 * it, press the button, log in on the page; the same with no terminal at all, through the
 * development mailbox; an expired link, whose page gets a working new one; and a forgotten password,
 * from the demo page's form through the mailed link's page to a login with the new password.
 * The activation pages are used with JavaScript switched off, as they must work without it.
 * A screenshot of each page lands in test-artifacts/browser/. scripts/ensure-chromium.sh installs
 * the browser with apt (.ci/run calls it, and so does tests/support/chromium.ts when it is missing);
 * without a browser these tests fail, they never skip.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expiredResetLinkPage, forgotRefusedPage } from '../../lib/pages/reset-pages.ts';
import * as emailChangePages from '../../lib/pages/email-change-pages.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { ARTIFACTS, axeViolations as audit, LAUNCH_TIMEOUT, launchChromium } from '../support/chromium.ts';
import { freePort, startServer, type ServerProcess } from '../../scripts/support/server-process.ts';

const MIGRATIONS = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'purple elephants dance at noon';
const TIMEOUT = 120_000;
// The page waits for the server's answer; on a busy 2-core machine that can take more than a second.
const POLL = { timeout: 15_000, interval: 50 };

let browser: Browser;
let dir: string;
const servers: ServerProcess[] = [];
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  dir = mkdtempSync(join(tmpdir(), 'latchkey-browser-'));
}, LAUNCH_TIMEOUT);

afterEach(async () => {
  for (const context of contexts.splice(0)) await context.close();
  for (const server of servers.splice(0)) await server.stop();
});

afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

type Served = ServerProcess & { port: number };

/** `node functions/server.ts` (what `npm start` runs) on a port of its own, links built for that port. */
async function serve(databasePath: string, port?: number): Promise<Served> {
  const chosen = port ?? (await freePort());
  const env = { DATABASE_PATH: databasePath, PORT: String(chosen), PUBLIC_URL: `http://127.0.0.1:${chosen}` };
  const server = await startServer(env, [process.execPath, '--disable-warning=ExperimentalWarning', 'functions/server.ts']);
  servers.push(server);
  return Object.assign(server, { port: chosen });
}

/**
 * A browser tab that records what it asked for and what the page's policy blocked, so a test can
 * prove that nothing came from another origin and nothing was refused by the CSP.
 */
async function tab(server: ServerProcess, { javaScript = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: javaScript, viewport: { width: 800, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const requests: string[] = [];
  const complaints: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') complaints.push(message.text());
  });
  page.on('pageerror', (error) => complaints.push(error.message));
  const clean = () => {
    const foreign = requests.filter((url) => !url.startsWith(`${server.url}/`));
    expect(foreign, 'requests to other origins').toEqual([]);
    // Chromium logs every 4xx answer (the API's refusals, the expired page's 410) as a failed
    // load; anything else (a CSP refusal, a script error) is a defect.
    const defects = complaints.filter((c) => !/^Failed to load resource: the server responded with a status of 4\d\d\b/.test(c));
    expect(defects, 'console errors (CSP, script)').toEqual([]);
  };
  return { page, clean };
}

/** The accessibility faults axe-core finds in a page's markup (tests/support/chromium.ts). */
const axeViolations = (markup: string) => audit(browser, markup);

/** A screenshot of the page as it stands, and its accessibility audit, which must find nothing. */
async function shot(page: Page, name: string) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  expect(await axeViolations(await page.content()), `accessibility of ${name}`).toEqual([]);
}

/** The link of the activation mail to `address` that the server wrote, other than `except`. */
async function linkFromMail(server: ServerProcess, address: string, except?: string): Promise<string> {
  const mail = await server.waitForLine((line) => line.event === 'mail' && line.template === 'activation' && line.to === address && line.link !== except);
  expect(typeof mail.link).toBe('string');
  expect(mail.link as string).toMatch(new RegExp(`^${server.url}/activate\\?token=[A-Za-z0-9_-]{43}$`));
  return mail.link as string;
}

/**
 * The activation step on the link's page: press the button and wait for the answer page. In one
 * place, because issue 13 asks for the password here too.
 */
async function activateOnLinkPage(page: Page, password: string) {
  await page.getByLabel('Your password').fill(password);
  await page.getByRole('button', { name: 'Activate account' }).click();
  await page.waitForLoadState();
}

/** Opens the demo page and registers `address` there, once its script has run; returns the form. */
async function registerOnDemoPage(page: Page, server: ServerProcess, address: string) {
  await page.goto(`${server.url}/`);
  const register = page.locator('form[data-endpoint="register"]');
  await expect.poll(() => register.getByLabel('Email address').isEnabled(), POLL).toBe(true);
  await register.getByLabel('Email address').fill(address);
  await register.getByLabel('Password', { exact: true }).fill(PASSWORD);
  await register.getByRole('button', { name: 'Register' }).click();
  await expect.poll(() => register.getByRole('status').getAttribute('data-status'), POLL).toBe('202');
  return register;
}

describe('in Chromium, against the real server', () => {
  it('the accessibility audit finds faults where there are some, and only there', { timeout: TIMEOUT }, async () => {
    const faulty = '<!doctype html><html><head></head><body><form><input type="text"><button></button></form><img src="x.png"></body></html>';
    const clean = '<!doctype html><html lang="en"><head><title>Clean</title></head><body><main><h1>Clean</h1></main></body></html>';
    // At once, in the browser's one auditing tab: each audit sees its own page, and nothing of one
    // carries over to the next.
    const [found, none, again] = await Promise.all([axeViolations(faulty), axeViolations(clean), axeViolations(faulty)]);
    const ids = found.map((v) => v.split(':')[0]);
    expect(ids).toEqual(expect.arrayContaining(['document-title', 'html-has-lang', 'label', 'button-name', 'image-alt']));
    expect(none).toEqual([]);
    expect(again).toEqual(found);
  });

  it('register on the demo page, open the mailed link, activate, log in', { timeout: TIMEOUT }, async () => {
    const server = await serve(join(dir, 'flow.sqlite'));
    const { page, clean } = await tab(server);
    const address = 'Ada.Lovelace@Example.com';

    const home = await page.goto(`${server.url}/`);
    expect(home!.status()).toBe(200);
    await expect(page.title()).resolves.toBe('Try Latchkey · Latchkey');
    await shot(page, '01-demo-page');

    const register = page.locator('form[data-endpoint="register"]');
    // The forms wait for the script; it has run once they are enabled.
    await register.getByRole('button', { name: 'Register' }).waitFor({ state: 'visible' });
    await expect.poll(() => register.getByLabel('Email address').isEnabled(), POLL).toBe(true);

    // A weak password first: the API's 422 appears in words, naming the field.
    await register.getByLabel('Email address').fill(address);
    await register.getByLabel('Password', { exact: true }).fill('password');
    await register.getByRole('button', { name: 'Register' }).click();
    const registerResult = register.getByRole('status');
    await expect.poll(() => registerResult.getAttribute('data-status'), POLL).toBe('422');
    const refusal = await registerResult.innerText();
    expect(refusal).toMatch(/^The request has invalid fields\. Please correct:\n/);
    expect(refusal).toMatch(/Password: /);
    expect(refusal).not.toMatch(/[{}"]|urn:/);
    await expect(register.getByLabel('Password', { exact: true }).getAttribute('aria-invalid')).resolves.toBe('true');
    await shot(page, '02-demo-register-refused');

    await register.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await register.getByRole('button', { name: 'Register' }).click();
    await expect.poll(() => registerResult.getAttribute('data-status'), POLL).toBe('202');
    expect(await registerResult.innerText()).toMatch(/^Registered\. If this address can be registered, an activation link is on its way/);
    await shot(page, '03-demo-registered');

    // Logging in before activating: the same answer as a wrong password (anyone can register any
    // address), whose words point to the activation mail.
    const login = page.locator('form[data-endpoint="login"]');
    await login.getByLabel('Email address').fill(address);
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    const loginResult = login.getByRole('status');
    await expect.poll(() => loginResult.getAttribute('data-status'), POLL).toBe('401');
    expect(await loginResult.innerText()).toMatch(/^Wrong email or password\. .*activated with the link we mailed/);
    clean();

    // The link, from the server's mail line, opened in a browser without JavaScript.
    const link = await linkFromMail(server, address);
    const mailbox = await tab(server, { javaScript: false });
    const confirm = await mailbox.page.goto(link);
    expect(confirm!.status()).toBe(200);
    await expect(mailbox.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Activate your account');
    expect(await mailbox.page.locator('main').innerText()).toContain(address);
    await shot(mailbox.page, '04-activation-confirm');

    // A password other than the registration's: the page asks for it twice before it counts.
    await mailbox.page.getByLabel('Your password').fill('a different password for this one');
    await mailbox.page.getByRole('button', { name: 'Activate account' }).click();
    await mailbox.page.waitForLoadState();
    await expect(mailbox.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Choose the password for this account');
    await shot(mailbox.page, '04b-activation-choose-password');
    await mailbox.page.goto(link);

    await activateOnLinkPage(mailbox.page, PASSWORD);
    await expect(mailbox.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Account activated');
    expect(await mailbox.page.locator('main').innerText()).toContain(`The account for ${address} is active.`);
    await shot(mailbox.page, '05-activation-done');

    // The same link again: still a success, not an error.
    await mailbox.page.goto(link);
    await expect(mailbox.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Account already active');
    await shot(mailbox.page, '06-activation-already-active');
    mailbox.clean();

    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => loginResult.getAttribute('data-status'), POLL).toBe('200');
    expect(await loginResult.innerText()).toMatch(new RegExp(`^Logged in as ${address.replaceAll('.', '\\.')}\\. The account was registered on .+ and is active since .+\\.$`));
    await shot(page, '07-demo-logged-in');

    await login.getByLabel('Password').fill('not the password, surely');
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => loginResult.getAttribute('data-status'), POLL).toBe('401');
    expect(await loginResult.innerText()).toMatch(/^Wrong email or password\. Check both and try again\./);

    // The session the right login handed out: see who I am, change the password, log out.
    const whoami = page.locator('#whoami');
    expect(await whoami.innerText()).toBe(`Logged in as ${address}.`);
    const actions = page.locator('[data-session-actions]');
    const actionResult = actions.getByRole('status');
    await actions.getByRole('button', { name: 'Who am I?' }).click();
    await expect.poll(() => actionResult.getAttribute('data-status'), POLL).toBe('200');
    expect(await actionResult.innerText()).toMatch(new RegExp(`^This session belongs to ${address.replaceAll('.', '\\.')}\\. It started .+ and ends .+ unless used again\\.$`));
    await shot(page, '07b-demo-who-am-i');

    const change = page.locator('form[data-endpoint="change-password"]');
    await change.getByLabel('Current password').fill(PASSWORD);
    await change.getByLabel('New password').fill(NEW_PASSWORD);
    await change.getByRole('button', { name: 'Change password' }).click();
    const changeResult = change.getByRole('status');
    await expect.poll(() => changeResult.getAttribute('data-status'), POLL).toBe('200');
    expect(await changeResult.innerText()).toMatch(/^Password changed\. 0 other session\(s\) ended; this one goes on\./);
    await server.waitForLine((line) => line.event === 'mail' && line.template === 'password-changed' && line.to === address);
    await shot(page, '07c-demo-password-changed');

    await actions.getByRole('button', { name: 'Log out' }).click();
    await expect.poll(() => actionResult.getAttribute('data-status'), POLL).toBe('204');
    expect(await whoami.innerText()).toBe('Not logged in.');
    await actions.getByRole('button', { name: 'Who am I?' }).click();
    await expect.poll(() => actionResult.getAttribute('data-status'), POLL).toBe('401');
    expect(await actionResult.innerText()).toMatch(/^Not logged in\. Log in again/);
    await shot(page, '07d-demo-logged-out');

    // The new password is the one that logs in now.
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => loginResult.getAttribute('data-status'), POLL).toBe('401');
    await login.getByLabel('Password').fill(NEW_PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => loginResult.getAttribute('data-status'), POLL).toBe('200');

    // Change address: the demo form, the link in the new mailbox, its page's one button.
    const moved = `moved.${address}`;
    const changeEmail = page.locator('form[data-endpoint="change-email"]');
    await changeEmail.getByLabel('Password').fill(NEW_PASSWORD);
    await changeEmail.getByLabel('New email address').fill(moved);
    await changeEmail.getByRole('button', { name: 'Send me a link' }).click();
    await expect.poll(() => changeEmail.getByRole('status').getAttribute('data-status'), POLL).toBe('202');
    const confirmMail = await server.waitForLine((line) => line.event === 'mail' && line.template === 'email-change' && line.to === moved);
    const confirmTab = await tab(server);
    await confirmTab.page.goto(confirmMail.link as string);
    await expect(confirmTab.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Confirm your new address');
    await shot(confirmTab.page, '07e-confirm-new-address');
    await confirmTab.page.getByRole('button', { name: `Use ${moved}` }).click();
    await confirmTab.page.waitForLoadState();
    await expect(confirmTab.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Address changed');
    await shot(confirmTab.page, '07f-address-changed');
    await server.waitForLine((line) => line.event === 'mail' && line.template === 'email-changed' && line.to === address);
    await actions.getByRole('button', { name: 'Who am I?' }).click();
    await expect.poll(() => actionResult.innerText(), POLL).toMatch(new RegExp(`^This session belongs to ${moved.replaceAll('.', '\\.')}\\.`));
    confirmTab.clean();
    clean();
  });

  it('with no terminal: register on the demo page, open the mailbox, click the link, press the button, log in', { timeout: TIMEOUT }, async () => {
    // The server's PUBLIC_URL is on 127.0.0.1: development mode, so the mailbox exists.
    const server = await serve(join(dir, 'mailbox.sqlite'));
    const { page, clean } = await tab(server);
    const address = 'Mary.Somerville@Example.com';

    await page.goto(`${server.url}/dev/mail`);
    await expect(page.title()).resolves.toBe('Development mailbox · Latchkey');
    expect(await page.locator('main').innerText()).toContain('No mail yet.');
    await shot(page, '13-dev-mailbox-empty');

    const register = await registerOnDemoPage(page, server, address);
    // Step 2 names the mailbox, and so does the answer, with a link to it.
    await expect(page.locator('section[aria-labelledby="activate-heading"]').getByRole('link', { name: 'the development mailbox' }).count()).resolves.toBe(1);
    await register.getByRole('status').getByRole('link', { name: 'open the mailbox' }).click();
    await page.waitForURL(`${server.url}/dev/mail`);

    const mail = page.locator('section', { has: page.getByRole('heading', { name: 'Activate your account' }) }).first();
    expect(await mail.innerText()).toContain(address);
    await shot(page, '14-dev-mailbox');
    await mail.getByRole('link', { name: /\/activate\?token=/ }).click();
    await page.waitForURL(/\/activate\?token=/);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Activate your account');
    await activateOnLinkPage(page, PASSWORD);
    await expect(page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Account activated');

    await page.goto(`${server.url}/`);
    const login = page.locator('form[data-endpoint="login"]');
    await expect.poll(() => login.getByLabel('Email address').isEnabled(), POLL).toBe(true);
    await login.getByLabel('Email address').fill(address);
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => login.getByRole('status').getAttribute('data-status'), POLL).toBe('200');
    expect(await login.getByRole('status').innerText()).toMatch(/^Logged in as Mary\.Somerville@Example\.com\./);
    clean();
  });

  it('an expired link leads to a working new one', { timeout: TIMEOUT }, async () => {
    const databasePath = join(dir, 'expiry.sqlite');
    let server = await serve(databasePath);
    const address = 'grace@example.com';
    const { page, clean } = await tab(server);
    await registerOnDemoPage(page, server, address);
    const oldLink = await linkFromMail(server, address);
    clean();

    // A real process's clock cannot be moved, so age the registration instead: stop the server
    // (freeing the file's lock), move its times a day into the past through the same sql.js
    // adapter the server uses, and start it again on the same port, so the link still points at it.
    const port = server.port;
    expect(await server.stop()).toBe(0);
    servers.splice(servers.indexOf(server), 1);
    const db = await openSqlJsDatabase({ path: databasePath, migrations: MIGRATIONS });
    const day = 24 * 60 * 60 * 1000;
    const moved = await db
      .prepare('UPDATE registrations SET created_at = created_at - ?1, expires_at = ?2 WHERE email_key = ?3')
      .bind(2 * day, Date.now() - day, address)
      .run();
    expect(moved.meta.changes).toBe(1);
    db.close();
    server = await serve(databasePath, port);

    const { page: mailbox, clean: mailboxClean } = await tab(server, { javaScript: false });
    const expired = await mailbox.goto(oldLink);
    expect(expired!.status()).toBe(410);
    await expect(mailbox.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('This link has expired');
    await expect(mailbox.getByLabel('Email address').inputValue()).resolves.toBe(address);
    await shot(mailbox, '08-activation-expired');

    await mailbox.getByRole('button', { name: 'Send me a new link' }).click();
    await mailbox.waitForLoadState();
    await expect(mailbox.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Check your mail');
    await shot(mailbox, '09-resend-sent');

    const newLink = await linkFromMail(server, address, oldLink);
    expect(newLink).not.toBe(oldLink);
    await mailbox.goto(newLink);
    await activateOnLinkPage(mailbox, PASSWORD);
    await expect(mailbox.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Account activated');

    // A mangled link: its page explains, and offers the same way to a new link.
    const invalid = await mailbox.goto(`${server.url}/activate?token=${'x'.repeat(20)}`);
    expect(invalid!.status()).toBe(400);
    await expect(mailbox.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('This link does not work');
    await expect(mailbox.getByLabel('Email address').inputValue()).resolves.toBe('');
    await shot(mailbox, '10-activation-invalid');
    mailboxClean();

    // The demo page's resend form, for an address that is already active: the same answer as any.
    const resend = page.locator('form[data-endpoint="resend-activation"]');
    await page.goto(`${server.url}/`);
    await expect.poll(() => resend.getByLabel('Email address').isEnabled(), POLL).toBe(true);
    await resend.getByLabel('Email address').fill(address);
    await resend.getByRole('button', { name: 'Send me a new link' }).click();
    await expect.poll(() => resend.getByRole('status').getAttribute('data-status'), POLL).toBe('202');
    expect(await resend.getByRole('status').innerText()).toMatch(/^If this address is waiting for activation, a new link is on its way to it\./);
    await shot(page, '11-demo-resend');
    clean();
  });

  it('forgot password: the demo form, the mailed link, the new password typed twice, then only the new password logs in', { timeout: TIMEOUT }, async () => {
    const server = await serve(join(dir, 'reset.sqlite'));
    const { page, clean } = await tab(server);
    const address = 'ada@example.com';
    const fresh = 'seven quiet otters under the bridge';
    await registerOnDemoPage(page, server, address);
    const mailbox = await tab(server, { javaScript: false });
    await mailbox.page.goto(await linkFromMail(server, address));
    await activateOnLinkPage(mailbox.page, PASSWORD);
    await expect(mailbox.page.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Account activated');

    // "Forgot your password?" on the demo page: the same words whatever the address is.
    await page.goto(`${server.url}/`);
    const forgot = page.locator('form[data-endpoint="forgot-password"]');
    await expect(page.getByRole('heading', { name: 'Forgot your password?' }).count()).resolves.toBe(1);
    await expect.poll(() => forgot.getByLabel('Email address').isEnabled(), POLL).toBe(true);
    await forgot.getByLabel('Email address').fill(address);
    await forgot.getByRole('button', { name: 'Send me a reset link' }).click();
    await expect.poll(() => forgot.getByRole('status').getAttribute('data-status'), POLL).toBe('202');
    expect(await forgot.getByRole('status').innerText()).toMatch(/^If this address has an account, a link to choose a new password is on its way to it\./);
    await shot(page, '15-demo-forgot-password');

    // The link from the server's mail line, in a browser without JavaScript.
    const mail = await server.waitForLine((line) => line.event === 'mail' && line.template === 'password-reset' && line.to === address);
    expect(mail.link as string).toMatch(new RegExp(`^${server.url}/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    const reset = mailbox.page;
    expect((await reset.goto(mail.link as string))!.status()).toBe(200);
    await expect(reset.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Choose a new password');
    expect(await reset.locator('main').innerText()).toContain(address);
    await shot(reset, '16-reset-page');

    // Two different typings: the page says so and asks again.
    await reset.getByLabel('Password', { exact: true }).fill(fresh);
    await reset.getByLabel('The same password again').fill('seven quiet otters under the brigde');
    await reset.getByRole('button', { name: 'Change password' }).click();
    await reset.waitForLoadState();
    expect(await reset.locator('main').innerText()).toContain('The two passwords are not the same.');
    await shot(reset, '17-reset-refused');

    await reset.getByLabel('Password', { exact: true }).fill(fresh);
    await reset.getByLabel('The same password again').fill(fresh);
    await reset.getByRole('button', { name: 'Change password' }).click();
    await reset.waitForLoadState();
    await expect(reset.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Password changed');
    await shot(reset, '18-reset-done');

    // The link a second time: it does not work, and the page offers a new one.
    expect((await reset.goto(mail.link as string))!.status()).toBe(400);
    await expect(reset.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('This link does not work');
    await shot(reset, '19-reset-link-used');
    await reset.getByLabel('Email address').fill(address);
    await reset.getByRole('button', { name: 'Send me a reset link' }).click();
    await reset.waitForLoadState();
    await expect(reset.getByRole('heading', { level: 1 }).innerText()).resolves.toBe('Check your mail');
    await shot(reset, '20-forgot-sent');
    mailbox.clean();

    // Logging in: the new password works, the old one does not.
    const login = page.locator('form[data-endpoint="login"]');
    await login.getByLabel('Email address').fill(address);
    await login.getByLabel('Password').fill(PASSWORD);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => login.getByRole('status').getAttribute('data-status'), POLL).toBe('401');
    await login.getByLabel('Password').fill(fresh);
    await login.getByRole('button', { name: 'Log in' }).click();
    await expect.poll(() => login.getByRole('status').getAttribute('data-status'), POLL).toBe('200');
    clean();

    // The pages this walk cannot reach in a browser (an hour must pass for the first): audited as served.
    for (const made of [await expiredResetLinkPage(address), await forgotRefusedPage('ada@', 'The part after the @ is not a valid domain.')]) {
      expect(await axeViolations(made.body), `accessibility of the ${made.status} page`).toEqual([]);
    }
  });

  it('every page of a change of address passes the accessibility audit', { timeout: TIMEOUT }, async () => {
    const [from, to, token] = ['ada@example.com', 'ada@new.example', 'A'.repeat(43)];
    const pages = [
      emailChangePages.confirmEmailPage(from, to, token),
      emailChangePages.emailChangedPage(to),
      emailChangePages.addressTakenPage(to),
      emailChangePages.invalidEmailLinkPage(),
      emailChangePages.expiredEmailLinkPage(to),
      emailChangePages.undoEmailPage(from, to, token),
      emailChangePages.restoredPage(from),
      emailChangePages.invalidUndoLinkPage(),
      emailChangePages.expiredUndoLinkPage(from),
    ];
    expect(pages).toHaveLength(Object.keys(emailChangePages).length);
    for (const made of await Promise.all(pages)) {
      expect(await axeViolations(made.body), `accessibility of the ${made.status} page`).toEqual([]);
    }
  });

  it('the demo page says plainly that it needs JavaScript, and its forms stay off without it', { timeout: TIMEOUT }, async () => {
    const server = await serve(join(dir, 'noscript.sqlite'));
    const { page, clean } = await tab(server, { javaScript: false });
    await page.goto(`${server.url}/`);
    expect(await page.locator('main').innerText()).toContain('This page needs JavaScript to call the API.');
    await expect(page.locator('form[data-endpoint="register"]').getByLabel('Email address').isDisabled()).resolves.toBe(true);
    await shot(page, '12-demo-without-javascript');
    clean();
  });
});
