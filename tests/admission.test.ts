/**
 * The per-client window's hit rides in the first batch of the flow it admits (lib/storage/throttle.ts
 * runAdmitted), with the flow's own charges guarded on it. These are the stories of a client that
 * has spent its window and keeps going: none of what it sends may count anywhere else, or it could
 * still lock the owner out (the address's back-off, the devices' allowance, a session's count) while
 * being refused itself.
 */
import { describe, expect, inject, it } from 'vitest';
import { backend } from '#backend';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { BREACHED_PASSWORD, type RangeRequest } from './support/breach-fixtures.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';
import { challengeFor, codeNow, enrol, logInWithCode, STEP_MS } from './support/totp.ts';

const OWNER = 'owner@example.com';
const ATTACKER = '203.0.113.66';
const OWNER_CLIENT = '198.51.100.20';

/** The address's mail allowances (lib/storage/throttle.ts keys.mail*) and the outbox: what a mail request spends. */
async function mailState(h: Harness, email: string) {
  const allowances = await h.db.prepare("SELECT key, hits, forget_at FROM throttle WHERE key LIKE ? ORDER BY key").bind(`mail:${email}%`).all();
  const outbox = await h.db.prepare('SELECT id FROM mail_outbox ORDER BY id').all();
  return JSON.stringify({ allowances: allowances.results, outbox: outbox.results });
}

const failuresOf = async (h: Harness, key: string) =>
  (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(key).first<{ hits: number }>())?.hits ?? 0;

describe(`a client over its window changes nothing (${backend.name})`, () => {
  it('guess, spend the window, guess on: the refused guesses never reach the address\'s back-off, and the owner gets in from elsewhere at once', async () => {
    // Four free failures, the window three: the attacker's counted guesses stay free; the refused
    // ones, had they counted, would put the address into its back-off.
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '3/600', LOGIN_FREE_FAILURES: '4' });
    await h.createActiveAccount(OWNER);
    h.client.address = ATTACKER;
    for (let i = 0; i < 3; i++) expect((await h.post('/login', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(401);
    const before = await dump(h.db);
    for (let i = 0; i < 20; i++) expect((await h.post('/login', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(429);
    expect(await dump(h.db)).toBe(before);
    expect(await failuresOf(h, `login:${OWNER}`)).toBe(3);

    h.client.address = OWNER_CLIENT;
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('a stolen device token used past the window spends none of the devices\' allowance', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '2/600', DEVICE_MAX_FAILURES: '3' });
    await h.createActiveAccount(OWNER);
    h.client.address = OWNER_CLIENT;
    const device = ((await (await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).json()) as { device: { token: string } }).device.token;

    h.client.address = ATTACKER;
    const guess = () => h.post('/login', { email: OWNER, password: OTHER_PASSWORD }, { [DEVICE_HEADER]: device });
    expect((await guess()).status).toBe(401);
    expect((await guess()).status).toBe(401);
    const before = await dump(h.db);
    for (let i = 0; i < 10; i++) expect((await guess()).status).toBe(429);
    expect(await dump(h.db)).toBe(before);

    // Two of three failures spent: the owner's device still works, and the owner gets in with it.
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD }, { [DEVICE_HEADER]: device })).status).toBe(200);
  });

  it('a stolen session past the window: change-password, delete-account and change-email are refused before the session is even looked at, and nothing counts', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '3/600' });
    await h.createActiveAccount(OWNER);
    h.client.address = ATTACKER;
    const session = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: 'another long passphrase' })).status).toBe(401);
    expect((await h.bearer('POST', '/delete-account', session, { password: OTHER_PASSWORD })).status).toBe(401);
    const before = await dump(h.db);
    for (const attempt of [
      () => h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: 'another long passphrase' }),
      () => h.bearer('POST', '/delete-account', session, { password: OTHER_PASSWORD }),
      () => h.bearer('POST', '/change-email', session, { password: OTHER_PASSWORD, newEmail: 'thief@example.com' }),
      () => h.bearer('POST', '/change-password', 'not-a-session', { currentPassword: OTHER_PASSWORD, newPassword: 'another long passphrase' }),
    ]) {
      expect((await attempt()).status).toBe(429);
    }
    expect(await dump(h.db)).toBe(before);
    expect(h.mails.filter((m) => m.to === 'thief@example.com')).toHaveLength(0);
  });

  it("a stolen session past the window: the second factor's routes change nothing, charge neither the session nor the address, and spend no code the thief sends", async () => {
    // A day's window of four: the thief's two-step login and two wrong passwords spend it.
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '4/86400' });
    h.client.address = OWNER_CLIENT;
    const { secret } = await enrol(h, OWNER);
    h.client.address = ATTACKER;
    // The stolen session is the owner's second, made with both factors (as a thief with a copied token holds it).
    const stolen = (await logInWithCode(h, OWNER, secret)).session;
    h.clock.now += STEP_MS;
    const sessionKey = `session:${stolen.split('.')[0]}`;
    expect((await h.bearer('POST', '/mfa/recovery-codes', stolen, { password: OTHER_PASSWORD, code: codeNow(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/mfa/totp/disable', stolen, { password: OTHER_PASSWORD, code: codeNow(h, secret) })).status).toBe(401);
    const before = { db: await dump(h.db), session: await failuresOf(h, sessionKey), address: await failuresOf(h, `login:${OWNER}`) };
    expect(before.session).toBe(2);
    // An hour on, so that a request let through would also slide the session's "last seen".
    h.clock.now += 3_600_000;
    // The owner's code of the moment, with the right password: past the window it must not be spent.
    const code = codeNow(h, secret);
    for (const attempt of [
      () => h.bearer('POST', '/mfa/totp/disable', stolen, { password: GOOD_PASSWORD, code }),
      () => h.bearer('POST', '/mfa/recovery-codes', stolen, { password: GOOD_PASSWORD, code }),
      () => h.bearer('POST', '/mfa/totp/setup', stolen, { password: OTHER_PASSWORD }),
      () => h.bearer('POST', '/mfa/totp/enable', stolen, { code }),
    ]) {
      expect((await attempt()).status).toBe(429);
    }
    expect(await dump(h.db)).toBe(before.db);
    expect(await failuresOf(h, sessionKey)).toBe(before.session);
    expect(await failuresOf(h, `login:${OWNER}`)).toBe(before.address);
    // The code was not spent: the owner, from a client of its own, still logs in with it.
    h.client.address = '198.51.100.21';
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code })).status).toBe(200);
  });

  it('a thief with the password guessing codes past the window: the challenge, the address\'s back-off and the right code are all left as they were', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '3/86400' });
    h.client.address = OWNER_CLIENT;
    const { secret } = await enrol(h, OWNER);
    h.client.address = ATTACKER;
    const challenge = await challengeFor(h, OWNER);
    // Two wrong codes spend the window (the password step took its first hit); the second was charged to the address.
    for (let i = 0; i < 2; i++) expect((await h.post('/login/mfa', { challenge, code: i % 2 ? '000000' : '999999' })).status).toBe(401);
    const attempts = async () => (await h.db.prepare('SELECT attempts FROM mfa_challenges').first<{ attempts: number }>())!.attempts;
    const before = { db: await dump(h.db), attempts: await attempts(), address: await failuresOf(h, `login:${OWNER}`) };
    expect(before.attempts).toBe(2);
    const code = codeNow(h, secret);
    for (let i = 0; i < 5; i++) expect((await h.post('/login/mfa', { challenge, code: i === 4 ? code : `12345${i}` })).status).toBe(429);
    expect(await h.api.loginSecondFactor({ challenge, code }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await dump(h.db)).toBe(before.db);
    expect(await attempts()).toBe(before.attempts);
    expect(await failuresOf(h, `login:${OWNER}`)).toBe(before.address);
    // The right code the thief sent past the window is still the owner's to use.
    h.client.address = '198.51.100.21';
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code })).status).toBe(200);
  });

  it('register, resend and forgot past the window, from two clients: no mail charged, queued or sent, nothing stored, and the owner\'s own reset still comes', async () => {
    // Each attacker spends its windows on another address, then turns to the owner's. Had its
    // refused requests been charged, the two would spend the owner's ceiling (each up to its own
    // allowance of two) and the owner's reset would go unmailed (no new-client allowance here).
    const h = await createHarness({
      LIMIT_REGISTER_PER_CLIENT: '1/600',
      LIMIT_RESEND_PER_CLIENT: '1/600',
      LIMIT_FORGOT_PER_CLIENT: '1/600',
      LIMIT_MAIL_PER_ADDRESS_CLIENT: '2/3600',
      LIMIT_MAIL_PER_ADDRESS: '3/3600',
      LIMIT_MAIL_PER_ADDRESS_NEW_CLIENTS: 'off',
    });
    await h.createActiveAccount(OWNER);
    h.clock.now += 3600_000; // the owner's own registration mail is out of the window
    const ownerMails = h.mails.length;
    for (const attacker of [ATTACKER, '203.0.113.67']) {
      h.client.address = attacker;
      expect((await h.post('/register', { email: 'spent@example.com', password: OTHER_PASSWORD })).status).toBe(202);
      expect((await h.post('/resend-activation', { email: 'spent@example.com' })).status).toBe(202);
      expect((await h.post('/forgot-password', { email: 'spent@example.com' })).status).toBe(202);
      await h.later.settled();
      const before = { db: await dump(h.db), mail: await mailState(h, OWNER), sent: h.mails.length };
      h.later.hold = true;
      for (let i = 0; i < 3; i++) {
        expect((await h.post('/register', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(429);
        expect((await h.post('/resend-activation', { email: OWNER })).status).toBe(429);
        expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(429);
        expect((await h.post('/forgot-password', `email=${encodeURIComponent(OWNER)}`, { 'Content-Type': 'application/x-www-form-urlencoded' })).status).toBe(429);
      }
      expect(await h.api.forgotPassword({ email: OWNER }, { client: attacker })).toMatchObject({ kind: 'throttled' });
      expect(await h.api.register({ email: OWNER, password: OTHER_PASSWORD }, { client: attacker })).toMatchObject({ kind: 'throttled' });
      h.later.hold = false;
      await h.later.settled();
      expect(await dump(h.db)).toBe(before.db);
      expect(await mailState(h, OWNER)).toBe(before.mail);
      expect(h.mails.length).toBe(before.sent);
    }

    h.client.address = OWNER_CLIENT;
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    await h.later.settled();
    expect(h.mails.slice(ownerMails).filter((m) => m.to === OWNER).map((m) => m.template)).toEqual(['password-reset']);
  });

  it('register past the window costs no breached-password lookup and no hash; a breached password within it charges no mail allowance', async () => {
    const key = crypto.randomUUID();
    const rangeServer = inject('rangeServerUrl');
    const asked = async () => ((await (await fetch(`${rangeServer}/range-requests/${key}`)).json()) as RangeRequest[]).length;
    const h = await createHarness({
      LIMIT_REGISTER_PER_CLIENT: '2/600',
      BREACHED_PASSWORDS: 'pwned',
      BREACHED_PASSWORDS_URL: `${rangeServer}/range/ok/${key}/`,
      BREACHED_PASSWORDS_TIMEOUT_MS: '1500',
    });
    h.client.address = ATTACKER;
    const untouched = await mailState(h, OWNER);
    expect((await h.post('/register', { email: OWNER, password: BREACHED_PASSWORD })).status).toBe(422);
    expect(await mailState(h, OWNER)).toBe(untouched); // nothing would be mailed: nothing is charged
    expect((await h.post('/register', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(202);
    const lookups = await asked();
    expect(lookups).toBe(2);
    const hashes = { ...h.hashes };
    const before = { db: await dump(h.db), mail: await mailState(h, OWNER) };
    // Fresh passwords, so that the range's cache would not hide a lookup.
    for (let i = 0; i < 5; i++) expect((await h.post('/register', { email: OWNER, password: `${GOOD_PASSWORD} number ${i}` })).status).toBe(429);
    expect(await asked()).toBe(lookups);
    expect(h.hashes).toEqual(hashes);
    expect(await dump(h.db)).toBe(before.db);
    expect(await mailState(h, OWNER)).toBe(before.mail);
  });

  it('a body that never reaches the flow is still counted, and once the window is spent the answer is 429, not 422', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '2/600' });
    h.client.address = ATTACKER;
    expect((await h.post('/login', { email: 'not an address', password: 'x' })).status).toBe(422);
    expect((await h.post('/login', 'not json')).status).toBe(400);
    expect((await h.post('/login', { email: 'not an address', password: 'x' })).status).toBe(429);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(429);
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('the api shares the window with the routes, and a call past it changes nothing either', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '2/600', LOGIN_FREE_FAILURES: '2' });
    await h.createActiveAccount(OWNER);
    h.client.address = ATTACKER;
    expect((await h.post('/login', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(401);
    expect(await h.api.login({ email: OWNER, password: OTHER_PASSWORD }, { client: ATTACKER })).toEqual({ kind: 'wrong' });
    const before = await dump(h.db);
    expect(await h.api.login({ email: OWNER, password: OTHER_PASSWORD }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await dump(h.db)).toBe(before);
    expect(await h.api.login({ email: OWNER, password: GOOD_PASSWORD }, { client: OWNER_CLIENT })).toMatchObject({ kind: 'ok' });
  });
  // The mailed links: the link's read rides in the batch of the window's hit, and what a link does
  // comes only after the verdict. A client that has spent its window and holds a stolen link (or
  // guesses one) uses nothing, changes nothing, and learns nothing of the link from the answer.
  const GUESS = 'A'.repeat(43);

  it('a stolen activation link past the window: no account, no password chosen, the page says nothing of the link, and the owner activates from elsewhere', async () => {
    const h = await createHarness({ LIMIT_ACTIVATE_PER_CLIENT: '2/600' });
    h.client.address = OWNER_CLIENT;
    const stolen = await h.registerAndGetToken(OWNER);
    h.client.address = ATTACKER;
    expect((await h.get(`/activate?token=${GUESS}`)).status).toBe(400);
    expect((await h.post('/activate', { token: GUESS, password: OTHER_PASSWORD })).status).toBe(400);
    const before = await dump(h.db);
    const hashing = { ...h.hashes };
    for (const attempt of [
      () => h.post('/activate', { token: stolen, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }),
      () => h.post('/activate', { token: stolen, password: GOOD_PASSWORD }),
      () => h.post('/activate', new URLSearchParams({ token: stolen, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }).toString(), { 'Content-Type': 'application/x-www-form-urlencoded' }),
      () => h.get(`/activate?token=${stolen}`),
      () => h.get(`/activate?token=${GUESS}`),
    ]) {
      const res = await attempt();
      expect(res.status).toBe(429);
      expect(await res.text()).not.toContain(OWNER);
    }
    expect(await h.api.activate({ token: stolen, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await dump(h.db)).toBe(before);
    // Refused before the password was looked at: no verification, no hash.
    expect(h.hashes).toEqual(hashing);
    expect(h.events.filter((e) => e.event === 'activated')).toHaveLength(0);

    h.client.address = OWNER_CLIENT;
    expect((await h.post('/activate', { token: stolen, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('a stolen reset link past the window: the password stays, no session ends, the link still works for the owner', async () => {
    const h = await createHarness({ LIMIT_RESET_PER_CLIENT: '2/600' });
    h.client.address = OWNER_CLIENT;
    await h.createActiveAccount(OWNER);
    const session = await h.logIn(OWNER);
    const stolen = await h.forgotAndGetToken(OWNER);
    h.client.address = ATTACKER;
    expect((await h.get(`/reset-password?token=${GUESS}`)).status).toBe(400);
    expect((await h.post('/reset-password', { token: GUESS, password: OTHER_PASSWORD })).status).toBe(400);
    const before = await dump(h.db);
    const mails = h.mails.length;
    for (const attempt of [
      () => h.post('/reset-password', { token: stolen, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }),
      () => h.get(`/reset-password?token=${stolen}`),
    ]) {
      const res = await attempt();
      expect(res.status).toBe(429);
      expect(await res.text()).not.toContain(OWNER);
    }
    expect(await h.api.resetPassword({ token: stolen, password: OTHER_PASSWORD }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await dump(h.db)).toBe(before);
    await h.later.settled();
    expect(h.mails.slice(mails)).toEqual([]);
    expect((await h.bearer('GET', '/session', session)).status).toBe(200);

    h.client.address = OWNER_CLIENT;
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/reset-password', { token: stolen, password: 'the owner chose this one' })).status).toBe(200);
  });

  it('stolen links of a change of address past the window: the account neither moves nor comes back, no session ends, no mail goes', async () => {
    const h = await createHarness({ LIMIT_RESET_PER_CLIENT: '2/600' });
    h.client.address = OWNER_CLIENT;
    await h.createActiveAccount(OWNER);
    const session = await h.logIn(OWNER);
    const linkTo = async (newEmail: string, template: string) => {
      expect((await h.bearer('POST', '/change-email', session, { password: GOOD_PASSWORD, newEmail })).status).toBe(202);
      return tokenFromLink(h.mails.filter((m) => m.template === template && m.to === newEmail).at(-1)?.link);
    };
    // A confirmed change (its undo link goes to the owner's address), and a second one asked for.
    expect((await h.post('/confirm-email', { token: await linkTo('second@example.com', 'email-change') })).status).toBe(200);
    const undo = tokenFromLink(h.mails.filter((m) => m.template === 'email-changed' && m.to === OWNER).at(-1)?.link);
    const confirm = await linkTo('third@example.com', 'email-change');

    h.client.address = ATTACKER;
    expect((await h.post('/confirm-email', { token: GUESS })).status).toBe(400);
    expect((await h.get(`/undo-email-change?token=${GUESS}`)).status).toBe(400);
    const before = await dump(h.db);
    const mails = h.mails.length;
    for (const attempt of [
      () => h.post('/confirm-email', { token: confirm }),
      () => h.post('/undo-email-change', { token: undo }),
      () => h.get(`/confirm-email?token=${confirm}`),
      () => h.get(`/undo-email-change?token=${undo}`),
    ]) {
      const res = await attempt();
      expect(res.status).toBe(429);
      expect(await res.text()).not.toMatch(/example\.com/);
    }
    expect(await h.api.confirmEmail({ token: confirm }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await h.api.undoEmailChange({ token: undo }, { client: ATTACKER })).toMatchObject({ kind: 'throttled' });
    expect(await dump(h.db)).toBe(before);
    await h.later.settled();
    expect(h.mails.slice(mails)).toEqual([]);
    expect((await h.bearer('GET', '/session', session)).status).toBe(200);

    // Both links still work for whoever holds them from a client with its window.
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/undo-email-change', { token: undo })).status).toBe(200);
  });
});
