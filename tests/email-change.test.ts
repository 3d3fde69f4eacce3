/**
 * Change of address (issue 25) as its users and its attackers would try it, across endpoints and
 * clients: the new mailbox confirms, the old one can undo, and whoever holds a session but not
 * the password, or the password but neither mailbox, gets nowhere for long.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { purge } from '../lib/flows/purge.ts';
import { createHarness, dump, GOOD_PASSWORD, NO_LIMITS, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const NEW = 'owner@new.example';
const THIEF = 'thief@evil.example';
const OWNER_CLIENT = '198.51.100.20';
const THIEF_CLIENT = '203.0.113.66';

const mailsTo = (h: Harness, to: string, template?: string) => h.mails.filter((m) => m.to === to && (template === undefined || m.template === template));
const lastLink = (h: Harness, to: string, template: string) => tokenFromLink(mailsTo(h, to, template).at(-1)?.link);
const login = async (h: Harness, email: string, password = GOOD_PASSWORD) => (await h.post('/login', { email, password })).status;
/** The address GET /session names, which GET /sessions must name too; the status without a session. */
const whoAmI = async (h: Harness, token: string) => {
  const res = await h.bearer('GET', '/session', token);
  if (res.status !== 200) return res.status;
  const email = ((await res.json()) as { user: { email: string } }).user.email;
  const listed = (await (await h.bearer('GET', '/sessions', token)).json()) as { email: string };
  expect(listed.email).toBe(email);
  return email;
};
const ask = (h: Harness, token: string, newEmail: string, password = GOOD_PASSWORD) => h.bearer('POST', '/change-email', token, { password, newEmail });
const form = (token: string) => [new URLSearchParams({ token }).toString(), { 'Content-Type': 'application/x-www-form-urlencoded' }] as const;

/** An active account and a session of it; returns the session's token. */
async function owner(h: Harness, email = OWNER) {
  await h.createActiveAccount(email);
  return h.logIn(email);
}

/** Asks for a change and returns the confirmation token from the new address's mail. */
async function askAndGetToken(h: Harness, session: string, newEmail: string, password = GOOD_PASSWORD) {
  const res = await ask(h, session, newEmail, password);
  expect(res.status).toBe(202);
  return lastLink(h, newEmail, 'email-change');
}

describe(`change of address (${backend.name})`, () => {
  it('the new mailbox confirms: the account follows the address, other sessions end, the old address gets an undo link', async () => {
    const h = await createHarness(NO_LIMITS);
    const asking = await owner(h);
    const elsewhere = await h.logIn(OWNER);
    const res = await ask(h, asking, NEW);
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: 'pending' });
    // Nothing changed yet.
    expect(await whoAmI(h, asking)).toBe(OWNER);
    expect(await login(h, OWNER)).toBe(200);
    const mail = mailsTo(h, NEW, 'email-change')[0]!;
    expect(mail.link).toMatch(/^https:\/\/accounts\.example\.test\/confirm-email\?token=[A-Za-z0-9_-]{43}$/);
    const token = tokenFromLink(mail.link);

    // The page names both addresses, has one button, and changes nothing (a scanner opening it).
    const before = await dump(h.db);
    const page = await h.get(`/confirm-email?token=${token}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(OWNER);
    expect(html).toContain(NEW);
    expect(html.match(/<button/g)).toHaveLength(1);
    expect(await dump(h.db)).toBe(before);

    const confirmed = await h.post('/confirm-email', { token });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.json()).toEqual({ status: 'changed' });
    expect(await login(h, NEW)).toBe(200);
    expect(await login(h, OWNER)).toBe(401);
    expect(await whoAmI(h, asking)).toBe(NEW);
    expect(await whoAmI(h, elsewhere)).toBe(401);
    expect((await h.bearer('GET', '/sessions', asking)).status).toBe(200);
    const notice = mailsTo(h, OWNER, 'email-changed');
    expect(notice).toHaveLength(1);
    expect(notice[0]!.text).toContain(NEW);
    expect(notice[0]!.link).toMatch(/^https:\/\/accounts\.example\.test\/undo-email-change\?token=[A-Za-z0-9_-]{43}$/);
    expect(h.events.map((e) => e.event)).toContain('email_changed');
    // The link works once.
    expect((await h.post('/confirm-email', { token })).status).toBe(400);
  });

  it('a thief with a session but not the password cannot move the account: 401, counted, then 429', async () => {
    const h = await createHarness(NO_LIMITS);
    await h.createActiveAccount(OWNER);
    h.client.address = THIEF_CLIENT;
    const stolen = await h.logIn(OWNER);
    const before = await dump(h.db);
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await ask(h, stolen, THIEF, OTHER_PASSWORD)).status);
    expect(statuses.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(statuses.at(-1)).toBe(429);
    // Each wrong password counted toward the address's login back-off as well.
    const row = await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>();
    expect(row?.hits).toBeGreaterThanOrEqual(5);
    expect(mailsTo(h, THIEF)).toHaveLength(0);
    expect(await whoAmI(h, stolen)).toBe(OWNER);
    const after = JSON.parse(await dump(h.db)) as { accounts: unknown; emailChanges: unknown[] };
    expect(after.accounts).toEqual(JSON.parse(before).accounts);
    expect(after.emailChanges).toEqual([]);
  });

  it('a thief with session and password moves it; the owner undoes it, the thief is thrown out and cannot undo the undo', async () => {
    const h = await createHarness(NO_LIMITS);
    h.client.address = OWNER_CLIENT;
    const ownerSession = await owner(h);
    h.client.address = THIEF_CLIENT;
    const thiefSession = await h.logIn(OWNER);
    const thiefOther = await h.logIn(OWNER);
    const token = await askAndGetToken(h, thiefSession, THIEF);
    expect((await h.post('/confirm-email', { token })).status).toBe(200);
    expect(await whoAmI(h, ownerSession)).toBe(401);
    expect(await whoAmI(h, thiefSession)).toBe(THIEF);

    // The thief holds the confirmation token only: it opens no undo, and guesses open nothing.
    for (const guess of [token, 'A'.repeat(43), 'x']) {
      expect((await h.post('/undo-email-change', { token: guess })).status).toBe(400);
      expect((await h.get(`/undo-email-change?token=${guess}`)).status).toBe(400);
    }
    // While the undo window lasts, the thief cannot move the account back to the old address either.
    const before = await dump(h.db);
    expect((await ask(h, thiefSession, OWNER)).status).toBe(202);
    expect(mailsTo(h, OWNER, 'email-change')).toHaveLength(0);

    h.client.address = OWNER_CLIENT;
    const undo = lastLink(h, OWNER, 'email-changed');
    const page = await h.get(`/undo-email-change?token=${undo}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(THIEF);
    expect(JSON.parse(await dump(h.db)).accounts).toEqual(JSON.parse(before).accounts);
    const restored = await h.post('/undo-email-change', { token: undo });
    expect(restored.status).toBe(200);
    expect(await restored.json()).toEqual({ status: 'restored' });
    for (const s of [thiefSession, thiefOther]) expect(await whoAmI(h, s)).toBe(401);
    expect(await login(h, THIEF)).toBe(401);
    // The undo mailed a reset link to the old address at once: the thief knew the password.
    const reset = lastLink(h, OWNER, 'password-reset');
    const chosen = 'seven quiet otters under the bridge';
    expect((await h.post('/reset-password', { token: reset, password: chosen })).status).toBe(200);
    expect(await login(h, OWNER, GOOD_PASSWORD)).toBe(401);
    expect(await login(h, OWNER, chosen)).toBe(200);
    // The undo link is spent.
    expect((await h.post('/undo-email-change', { token: undo })).status).toBe(400);
  });

  it('a thief who moves the account twice and undoes the second move cannot spend the owner\'s undo link', async () => {
    const h = await createHarness(NO_LIMITS);
    await owner(h);
    h.client.address = THIEF_CLIENT;
    const thief = await h.logIn(OWNER);
    expect((await h.post('/confirm-email', { token: await askAndGetToken(h, thief, THIEF) })).status).toBe(200);
    const second = 'second@evil.example';
    expect((await h.post('/confirm-email', { token: await askAndGetToken(h, thief, second) })).status).toBe(200);
    // The thief holds the second change's undo link (mailed to the first address, the thief's own).
    expect((await h.post('/undo-email-change', { token: lastLink(h, THIEF, 'email-changed') })).status).toBe(200);
    expect(await login(h, THIEF)).toBe(200);
    // The owner's link still works, and ends every session the thief has.
    h.client.address = OWNER_CLIENT;
    const thiefAgain = await h.logIn(THIEF);
    expect((await h.post('/undo-email-change', { token: lastLink(h, OWNER, 'email-changed') })).status).toBe(200);
    expect(await whoAmI(h, thiefAgain)).toBe(401);
    expect(await login(h, OWNER)).toBe(200);
    expect(await login(h, THIEF)).toBe(401);
    expect(await login(h, second)).toBe(401);
  });

  it('the undo page as a form answers with a page telling the person to reset the password', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    const token = await askAndGetToken(h, session, NEW);
    const confirmed = await h.post('/confirm-email', ...form(token));
    expect(confirmed.status).toBe(200);
    expect(confirmed.headers.get('content-type')).toMatch(/text\/html/);
    expect(await confirmed.text()).toContain(NEW);
    const undone = await h.post('/undo-email-change', ...form(lastLink(h, OWNER, 'email-changed')));
    expect(undone.status).toBe(200);
    expect(undone.headers.get('content-type')).toMatch(/text\/html/);
    expect(await undone.text()).toMatch(/Reset your password/);
    expect(await whoAmI(h, session)).toBe(401);
  });

  it('someone who cannot read the new mailbox cannot confirm: guessed tokens, and a scanner opening the link, change nothing', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    const token = await askAndGetToken(h, session, NEW);
    const before = await dump(h.db);
    for (const guess of ['A'.repeat(43), `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`, '', 'x']) {
      expect((await h.post('/confirm-email', { token: guess })).status).toBe(400);
      expect((await h.get(`/confirm-email?token=${encodeURIComponent(guess)}`)).status).toBe(400);
    }
    for (let i = 0; i < 3; i++) expect((await h.get(`/confirm-email?token=${token}`)).status).toBe(200);
    expect(await dump(h.db)).toBe(before);
    expect(await whoAmI(h, session)).toBe(OWNER);
  });

  it('links expire on the clock: a late confirmation is 410 and changes nothing; so is a late undo', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    const late = await askAndGetToken(h, session, NEW);
    h.clock.now += 3600 * 1000;
    const before = await dump(h.db);
    expect((await h.post('/confirm-email', { token: late })).status).toBe(410);
    expect((await h.get(`/confirm-email?token=${late}`)).status).toBe(410);
    expect(await dump(h.db)).toBe(before);

    const token = await askAndGetToken(h, session, NEW);
    expect((await h.post('/confirm-email', { token })).status).toBe(200);
    const undo = lastLink(h, OWNER, 'email-changed');
    h.clock.now += 7 * 86_400 * 1000;
    expect((await h.post('/undo-email-change', { token: undo })).status).toBe(410);
    expect(await login(h, NEW)).toBe(200);
    expect(await login(h, OWNER)).toBe(401);
  });

  it('the old address stays reserved during the undo window: registering it or moving another account to it is as for a taken address', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    await h.createActiveAccount('other@example.com');
    const other = await h.logIn('other@example.com');
    const token = await askAndGetToken(h, session, NEW);
    expect((await h.post('/confirm-email', { token })).status).toBe(200);

    const activations = mailsTo(h, OWNER, 'activation').length;
    expect((await h.post('/register', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(202);
    expect(mailsTo(h, OWNER, 'activation')).toHaveLength(activations);
    expect((await ask(h, other, OWNER)).status).toBe(202);
    expect(mailsTo(h, OWNER, 'email-change')).toHaveLength(0);
    expect(mailsTo(h, OWNER, 'email-in-use')).toHaveLength(1);
    const rows = (JSON.parse(await dump(h.db)) as { registrations: Array<{ email_key: string; consumed_at: number | null }> }).registrations;
    expect(rows.filter((r) => r.email_key === OWNER && r.consumed_at === null)).toEqual([]);

    // Once the window has passed, the address is free again.
    h.clock.now += 7 * 86_400 * 1000;
    expect((await h.post('/register', { email: OWNER, password: OTHER_PASSWORD })).status).toBe(202);
    expect(mailsTo(h, OWNER, 'activation')).toHaveLength(activations + 1);
  });

  it('a link mailed before a confirmed change cannot move the account later, even once it is back at the address the link was asked from', async () => {
    const h = await createHarness({ ...NO_LIMITS, EMAIL_CHANGE_TTL_SECONDS: '86400', EMAIL_UNDO_TTL_SECONDS: '3600' });
    const session = await owner(h);
    const older = await askAndGetToken(h, session, 'older@new.example');
    expect((await h.post('/confirm-email', { token: await askAndGetToken(h, session, NEW) })).status).toBe(200);
    // The undo window passes, the old address is free again, and the owner moves back to it.
    h.clock.now += 2 * 3600_000;
    expect((await h.post('/confirm-email', { token: await askAndGetToken(h, session, OWNER) })).status).toBe(200);
    expect(await whoAmI(h, session)).toBe(OWNER);
    const before = await dump(h.db);
    expect((await h.post('/confirm-email', { token: older })).status).toBe(400);
    expect(await dump(h.db)).toBe(before);
  });

  it('the purge keeps a confirmed change while it holds the old address, and deletes it once the undo window and the grace are over', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    const stale = await askAndGetToken(h, session, 'never@new.example');
    const token = await askAndGetToken(h, session, NEW);
    expect((await h.post('/confirm-email', { token })).status).toBe(200);
    const start = h.clock.now;
    const grace = 3600;
    // Past the links' hour and the grace: the request that was retired goes, the confirmed one stays.
    expect(await purge(h.db, start + 2 * 3600_000 + 1, grace)).toMatchObject({ emailChanges: 1 });
    expect((await h.post('/confirm-email', { token: stale })).status).toBe(400);
    expect(await purge(h.db, start + 7 * 86_400_000 + grace * 1000 - 1, grace)).toMatchObject({ emailChanges: 0 });
    expect(await purge(h.db, start + 7 * 86_400_000 + grace * 1000, grace)).toMatchObject({ emailChanges: 1 });
  });

  it('two accounts confirm the same new address: exactly one holds it, the other gets 409 and keeps its own; a pending registration of it makes no account', async () => {
    const h = await createHarness(NO_LIMITS);
    const first = await owner(h, 'first@example.com');
    const second = await owner(h, 'second@example.com');
    const registration = await h.registerAndGetToken(NEW, OTHER_PASSWORD);
    const a = await askAndGetToken(h, first, NEW);
    const b = await askAndGetToken(h, second, NEW);
    const [ra, rb] = await Promise.all([h.post('/confirm-email', { token: a }), h.post('/confirm-email', { token: b })]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const emails = [await whoAmI(h, first), await whoAmI(h, second)];
    expect(emails.filter((e) => e === NEW)).toHaveLength(1);
    expect(emails).toContain(ra.status === 200 ? 'second@example.com' : 'first@example.com');
    // The registration made before cannot become a second account for the address.
    await h.post('/activate', { token: registration, password: OTHER_PASSWORD });
    const accounts = await h.db.prepare('SELECT count(*) AS n FROM accounts WHERE email_key = ?').bind(NEW).first<{ n: number }>();
    expect(accounts?.n).toBe(1);
    expect(await login(h, NEW, OTHER_PASSWORD)).toBe(401);
  });

  it('a confirmation link used after a password reset, after the account was deleted, or after an undo is refused and changes nothing', async () => {
    const h = await createHarness(NO_LIMITS);
    // After a reset.
    const session = await owner(h);
    const afterReset = await askAndGetToken(h, session, NEW);
    const reset = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: reset, password: OTHER_PASSWORD })).status).toBe(200);
    let before = await dump(h.db);
    expect((await h.post('/confirm-email', { token: afterReset })).status).toBe(400);
    expect(await dump(h.db)).toBe(before);
    expect(await login(h, OWNER, OTHER_PASSWORD)).toBe(200);

    // After an undo: a request made before it.
    const again = await h.logIn(OWNER, OTHER_PASSWORD);
    const moved = await askAndGetToken(h, again, NEW, OTHER_PASSWORD);
    const pending = await askAndGetToken(h, again, 'third@new.example', OTHER_PASSWORD);
    expect((await h.post('/confirm-email', { token: moved })).status).toBe(200);
    expect((await h.post('/undo-email-change', { token: lastLink(h, OWNER, 'email-changed') })).status).toBe(200);
    before = await dump(h.db);
    expect((await h.post('/confirm-email', { token: pending })).status).toBe(400);
    expect((await h.post('/confirm-email', { token: moved })).status).toBe(400);
    expect(await dump(h.db)).toBe(before);

    // After the account was deleted.
    const last = await h.logIn(OWNER, OTHER_PASSWORD);
    const orphan = await askAndGetToken(h, last, 'fourth@new.example', OTHER_PASSWORD);
    expect((await h.bearer('POST', '/delete-account', last, { password: OTHER_PASSWORD })).status).toBe(204);
    before = await dump(h.db);
    expect((await h.post('/confirm-email', { token: orphan })).status).toBe(400);
    expect(await dump(h.db)).toBe(before);
  });

  it('malformed addresses are 422 by the rules of registration; the password is not even tried', async () => {
    const h = await createHarness(NO_LIMITS);
    const session = await owner(h);
    const verifies = h.hashes.verify;
    for (const bad of ['not-an-address', 'a@', '"quoted"@example.com']) {
      const res = await ask(h, session, bad, OTHER_PASSWORD);
      expect(res.status).toBe(422);
      expect(((await res.json()) as { errors: Array<{ pointer: string }> }).errors[0]!.pointer).toBe('/newEmail');
    }
    expect(h.hashes.verify).toBe(verifies);
  });

  it('flooding one address with change requests from many accounts is held by its mail allowance, as registration is', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off', LIMIT_REGISTER_PER_CLIENT: 'off', LIMIT_ACTIVATE_PER_CLIENT: 'off' });
    const target = 'victim@example.com';
    let accepted = 0;
    for (let i = 0; i < 8; i++) {
      h.client.address = `203.0.113.${i + 1}`;
      const session = await owner(h, `sender${i}@example.com`);
      for (let j = 0; j < 4; j++) if ((await ask(h, session, target)).status === 202) accepted++;
    }
    expect(accepted).toBe(32);
    // 20 per address in all (the first five clients spend it), then one for each client new to
    // the address (three more): 23 of 32, as for registrations.
    expect(mailsTo(h, target)).toHaveLength(23);
  });
});
