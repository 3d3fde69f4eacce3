/**
 * What docs/design.md §8 and the README promise about a password reset, as an attacker and an
 * owner would meet it: a bad token costs no hashing and changes nothing until the per-client limit
 * stops the client; the "password changed" notice reaches the owner even when the mail allowance
 * is spent; and the link's lifetime setting is refused outside 60 s – 24 h.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { loadConfig } from '../lib/config/config.ts';
import { createHarness, dump, GOOD_PASSWORD, PUBLIC_URL, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_CLIENT = '198.51.100.20';
const ATTACKER = '203.0.113.66';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const ATTACKER_PASSWORD = 'the attacker would like this one';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Lets the mails handed off after an answer reach the harness's sink. */
const mailsSettle = () => new Promise((r) => setTimeout(r, 0));

describe(`a bad reset token costs no hashing (${backend.name})`, () => {
  it('unknown, used and malformed tokens with a good new password: 400 and no hash until the per-client limit, then 429; nothing written', async () => {
    const LIMIT = 24;
    const h = await createHarness({ LIMIT_RESET_PER_CLIENT: `${LIMIT}/600` });
    h.client.address = OWNER_CLIENT;
    await h.createActiveAccount(OWNER);
    const used = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: used, password: NEW_PASSWORD })).status).toBe(200);
    const live = await h.forgotAndGetToken(OWNER); // an outstanding link the attacker must not hurt
    const before = await dump(h.db);
    const hashes = { ...h.hashes };

    h.client.address = ATTACKER;
    const tokens = [
      used, // already used by the owner
      'A'.repeat(43), // well-formed, unknown
      `${live.slice(0, -1)}${live.endsWith('A') ? 'B' : 'A'}`, // one character off a live link
      live.slice(0, 42), // a live link cut short
      '', // empty
      'x', // far too short
      '%%%not base64url%%%',
      'Z'.repeat(128), // as long as the schema takes
    ];
    const statuses: number[] = [];
    for (let i = 0; statuses.length < LIMIT + 3; i++) {
      const token = tokens[i % tokens.length]!;
      const res =
        i % 2 === 0
          ? await h.post('/reset-password', { token, password: ATTACKER_PASSWORD })
          : await h.post('/reset-password', new URLSearchParams({ token, password: ATTACKER_PASSWORD, confirmPassword: ATTACKER_PASSWORD }).toString(), FORM);
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([...Array<number>(LIMIT).fill(400), 429, 429, 429]);
    expect(h.hashes).toEqual(hashes);
    expect(await dump(h.db)).toBe(before);
    expect(h.events.filter((e) => e.event === 'password_reset')).toHaveLength(1); // the owner's own

    // The owner's outstanding link still works, from the owner's client.
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/reset-password', { token: live, password: ATTACKER_PASSWORD.replace('attacker', 'owner') })).status).toBe(200);
    expect(h.hashes.hash).toBe(hashes.hash + 1);
  });
});

describe(`the "password changed" notice is not charged to the mail allowance (${backend.name})`, () => {
  const notices = (h: Harness) => h.mails.filter((m) => m.to === OWNER && m.template === 'password-changed');

  it('with the per-client allowance and the per-address ceiling spent, a reset with an earlier link still mails the notice', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '2/3600', LIMIT_MAIL_PER_ADDRESS: '3/3600' });
    h.client.address = OWNER_CLIENT;
    await h.createActiveAccount(OWNER);
    h.clock.now += 3600_000; // the activation mail's charge is over
    const earlier = await h.forgotAndGetToken(OWNER);
    const before = h.mails.length;
    // This client's allowance for the address: one more forgot mails, then nothing, however asked.
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    expect((await h.post('/resend-activation', { email: OWNER })).status).toBe(202);
    expect((await h.post('/register', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(202);
    await mailsSettle();
    expect(h.mails.length).toBe(before + 1);
    // Another client spends the address's ceiling.
    h.client.address = ATTACKER;
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    await mailsSettle();
    expect(h.mails.length).toBe(before + 2);
    // Both allowances are spent: the owner's client gets no more reset mail...
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/forgot-password', { email: OWNER })).status).toBe(202);
    await mailsSettle();
    expect(h.mails.length).toBe(before + 2);

    // ...but the reset with the earlier link mails the notice all the same.
    expect((await h.post('/reset-password', { token: earlier, password: NEW_PASSWORD })).status).toBe(200);
    await mailsSettle();
    expect(notices(h)).toHaveLength(1);
    expect(notices(h)[0]!.link).toBeUndefined();
    expect(h.mails.length).toBe(before + 3);
  });
});

describe(`RESET_TOKEN_TTL_SECONDS is bounded (${backend.name})`, () => {
  it('refuses less than 60 seconds at start, as it refuses more than 24 hours, and takes both bounds', () => {
    const load = (value: string) => () => loadConfig({ PUBLIC_URL, RESET_TOKEN_TTL_SECONDS: value });
    for (const value of ['59', '1', '0', '-60']) expect(load(value), value).toThrow(/RESET_TOKEN_TTL_SECONDS must be a whole number from 60 to 86400/);
    expect(load('86401')).toThrow(/RESET_TOKEN_TTL_SECONDS/);
    expect(load('60')().resetTokenTtlSeconds).toBe(60);
    expect(load('86400')().resetTokenTtlSeconds).toBe(86_400);
  });

  it('a link under the shortest setting lives exactly 60 seconds', async () => {
    const h = await createHarness({ RESET_TOKEN_TTL_SECONDS: '60' });
    await h.createActiveAccount(OWNER);
    const token = await h.forgotAndGetToken(OWNER);
    h.clock.now += 60_000 - 1;
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(200);
    h.clock.now += 1;
    expect((await h.get(`/reset-password?token=${token}`)).status).toBe(410);
    expect(tokenFromLink(h.mails.at(-1)!.link)).toBe(token);
  });
});
