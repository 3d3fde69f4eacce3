/**
 * Password reset as an attacker would try it (issue 10), across endpoints and clients: knowing only
 * the address, replaying links, holding an older link, bombing a mailbox through forgot-password
 * together with register and resend, and taking over an address before its owner activates it.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_CLIENT = '198.51.100.20';
const ATTACKER = '203.0.113.66';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const ATTACKER_PASSWORD = 'the attacker would like this one';

const login = async (h: Harness, password: string, email = OWNER) => (await h.post('/login', { email, password })).status;
const mailsTo = (h: Harness, to: string) => h.mails.filter((m) => m.to === to);

describe(`password reset attacks (${backend.name})`, () => {
  it('someone who knows only the address asks for resets but cannot reset: the link goes to the mailbox alone', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    h.client.address = ATTACKER;
    for (let i = 0; i < 3; i++) expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    const before = await dump(h.db);
    // Guessed, made-up and malformed tokens: none is a link, none changes anything.
    for (const token of ['A'.repeat(43), 'x', '', 'ZmFrZQ'.padEnd(43, '0')]) {
      expect((await h.post('/reset-password', { token, password: ATTACKER_PASSWORD })).status).toBe(400);
      expect((await h.get(`/reset-password?token=${token}`)).status).toBe(400);
    }
    expect(await dump(h.db)).toBe(before);
    expect(await login(h, ATTACKER_PASSWORD)).toBe(401);
    expect(await login(h, GOOD_PASSWORD)).toBe(200);
    // Every link went to the owner's mailbox, none anywhere else, and the owner's still work.
    const resets = h.mails.filter((m) => m.template === 'password-reset');
    expect(resets.map((m) => m.to)).toEqual([OWNER, OWNER, OWNER]);
    expect((await h.get(`/reset-password?token=${tokenFromLink(resets[0]!.link)}`)).status).toBe(200);
  });

  it('a used link replayed (JSON or form, another password) changes nothing and answers as an unknown one', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const token = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    const after = await dump(h.db);
    const notices = mailsTo(h, OWNER).length;
    h.client.address = ATTACKER;
    const replay = await h.post('/reset-password', { token, password: ATTACKER_PASSWORD });
    const unknown = await h.post('/reset-password', { token: 'B'.repeat(43), password: ATTACKER_PASSWORD });
    expect(replay.status).toBe(400);
    expect(await replay.text()).toBe(await unknown.text());
    const formReplay = await h.post('/reset-password', new URLSearchParams({ token, password: ATTACKER_PASSWORD, confirmPassword: ATTACKER_PASSWORD }).toString(), {
      'Content-Type': 'application/x-www-form-urlencoded',
    });
    expect(formReplay.status).toBe(400);
    expect(await dump(h.db)).toBe(after);
    expect(mailsTo(h, OWNER)).toHaveLength(notices);
    expect(await login(h, ATTACKER_PASSWORD)).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
  });

  it('an older link (say, left in a mailbox someone reads later) stops working once a newer one is used', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const older = await h.forgotAndGetToken(OWNER);
    const newer = await h.forgotAndGetToken(OWNER);
    expect((await h.get(`/reset-password?token=${older}`)).status).toBe(200);
    expect((await h.post('/reset-password', { token: newer, password: NEW_PASSWORD })).status).toBe(200);
    expect((await h.get(`/reset-password?token=${older}`)).status).toBe(400);
    expect((await h.post('/reset-password', { token: older, password: ATTACKER_PASSWORD })).status).toBe(400);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
    // A link asked for after the reset is a new one, and works.
    const fresh = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: fresh, password: OTHER_PASSWORD })).status).toBe(200);
    expect(await login(h, OTHER_PASSWORD)).toBe(200);
  });

  it('a link held from before a password change is dead after it: the change retires it, and the password stays the changed one', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    // Someone with a moment at the owner's mailbox asks for a link and keeps it.
    h.client.address = ATTACKER;
    const held = await h.forgotAndGetToken(OWNER);
    // Later the owner, logged in elsewhere, changes the password.
    h.client.address = OWNER_CLIENT;
    const session = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(200);
    h.client.address = ATTACKER;
    expect((await h.get(`/reset-password?token=${held}`)).status).toBe(400);
    const used = await h.post('/reset-password', { token: held, password: ATTACKER_PASSWORD });
    const unknown = await h.post('/reset-password', { token: 'B'.repeat(43), password: ATTACKER_PASSWORD });
    expect(used.status).toBe(400);
    expect(await used.text()).toBe(await unknown.text());
    expect(await login(h, ATTACKER_PASSWORD)).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
    expect((await h.bearer('GET', '/session', session)).status).toBe(200);
  });

  it('after a reset the old password fails everywhere, even from a device that logged in with it, and the new one works', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const device = ((await (await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).json()) as { device: { token: string } }).device.token;
    const token = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    expect(await login(h, GOOD_PASSWORD)).toBe(401);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD }, { [DEVICE_HEADER]: device })).status).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
  });

  it("a link of one account cannot change another's password, and a refused password (422) leaves the link working", async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    await h.createActiveAccount('other@example.com', OTHER_PASSWORD);
    const token = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token, password: 'too short' })).status).toBe(422);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD, confirmPassword: 'typo' })).status).toBe(422);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    expect(await login(h, OTHER_PASSWORD, 'other@example.com')).toBe(200);
    expect(await login(h, NEW_PASSWORD, 'other@example.com')).toBe(401);
  });

  it('mail bombing through forgot-password is bounded by the allowance it shares with register and resend', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const start = mailsTo(h, OWNER).length;
    // One client, mixing the three endpoints: 5 mails an hour to this address at most.
    h.client.address = ATTACKER;
    for (let i = 0; i < 4; i++) {
      for (const [path, body] of [
        ['/forgot-password', { email: OWNER }],
        ['/register', { email: OWNER, password: ATTACKER_PASSWORD }],
        ['/resend-activation', { email: OWNER }],
      ] as const) {
        expect((await h.post(path, body)).status, path).toBe(202);
      }
    }
    expect(mailsTo(h, OWNER).length - start).toBe(5);
    // Many clients together: the ceiling of 20 an hour, and one each for the next five clients new
    // to the address (the owner's way past a spent ceiling), however the requests are spread.
    for (let c = 0; c < 10; c++) {
      h.client.address = `203.0.113.${c + 1}`;
      for (let i = 0; i < 3; i++) {
        await h.post('/forgot-password', { email: OWNER });
        await h.post('/resend-activation', { email: OWNER });
      }
    }
    // (The owner's own activation mail counted too: it went out within the same hour.)
    expect(start).toBe(1);
    expect(mailsTo(h, OWNER)).toHaveLength(25);
    // The answers never said so, and the hour after, the owner gets a link again.
    h.clock.now += 3600 * 1000;
    h.client.address = OWNER_CLIENT;
    const token = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
  });

  it('forgot-password for an address someone else registered first gives the owner an activation link that sets the password they type', async () => {
    const h = await createHarness();
    h.client.address = ATTACKER;
    await h.registerAndGetToken(OWNER, ATTACKER_PASSWORD);
    h.client.address = OWNER_CLIENT;
    const before = h.mails.length;
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    const mail = h.mails.slice(before).find((m) => m.to === OWNER);
    expect(mail?.template).toBe('activation');
    const token = tokenFromLink(mail!.link);
    // The owner does not know the attacker's password: they type their own twice.
    expect((await h.post('/activate', { token, password: NEW_PASSWORD })).status).toBe(422);
    expect((await h.post('/activate', { token, password: NEW_PASSWORD, confirmPassword: NEW_PASSWORD })).status).toBe(200);
    expect(await login(h, ATTACKER_PASSWORD)).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
  });

  it('a thief logged in with the old password is logged out by the owner\'s reset, on every session, and cannot log in again', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    h.client.address = ATTACKER;
    const stolen = [await h.logIn(OWNER), await h.logIn(OWNER)];
    for (const token of stolen) expect((await h.bearer('GET', '/session', token)).status).toBe(200);

    h.client.address = OWNER_CLIENT;
    const link = await h.forgotAndGetToken(OWNER);
    // A reset that the policy refuses ends nothing.
    expect((await h.post('/reset-password', { token: link, password: 'short' })).status).toBe(422);
    expect((await h.bearer('GET', '/session', stolen[0])).status).toBe(200);
    expect((await h.post('/reset-password', { token: link, password: NEW_PASSWORD })).status).toBe(200);

    h.client.address = ATTACKER;
    for (const token of stolen) expect((await h.bearer('GET', '/session', token)).status).toBe(401);
    expect(await login(h, GOOD_PASSWORD)).toBe(401);
    expect(await login(h, NEW_PASSWORD)).toBe(200);
    expect(h.events.filter((e) => e.event === 'session_rejected').map((e) => e.reason)).toEqual(['revoked', 'revoked']);
  });
});
