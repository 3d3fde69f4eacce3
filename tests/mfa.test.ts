/**
 * The second factor as its owner uses it (issue 26): setting an authenticator up, logging in with
 * a code or a recovery code, replacing the codes, turning it off. The attacks are in
 * tests/mfa-attacks.test.ts. Codes are computed here from the secret (tests/support/totp.ts).
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { codeAt } from '../lib/crypto/totp.ts';
import { purge } from '../lib/flows/purge.ts';
import { CHALLENGE_TTL_SECONDS } from '../lib/storage/mfa.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD } from './support/harness.ts';
import { base32Bytes, challengeFor, codeNow, enrol, logInWithCode, rfc6238, STEP_MS, wrongCode } from './support/totp.ts';

const ADA = 'ada@example.com';

describe(`the second factor (${backend.name})`, () => {
  it('computes RFC 6238 codes: the RFC test vectors, and the code under test agrees', () => {
    // RFC 6238 Appendix B, SHA-1, with its 20-byte key "12345678901234567890" (8 digits there).
    const key = new TextEncoder().encode('12345678901234567890');
    expect(rfc6238(key, 59_000, 8)).toBe('94287082');
    expect(rfc6238(key, 1_111_111_109_000, 8)).toBe('07081804');
    expect(rfc6238(key, 20_000_000_000_000, 8)).toBe('65353130');
    // The same key in base32, as the app is given it; six digits are the last six of eight.
    const secret = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
    expect(base32Bytes(secret)).toEqual(key);
    expect(codeAt(secret, Math.floor(59 / 30))).toBe('287082');
    expect(codeAt(secret, Math.floor(1_111_111_109 / 30))).toBe('081804');
  });

  it('sets up (pending), enables with a code, and then a login asks for a code and says so in the session', async () => {
    const h = await createHarness();
    await h.createActiveAccount(ADA);
    const session = await h.logIn(ADA);
    expect((await h.bearer('POST', '/mfa/totp/setup', session, { password: OTHER_PASSWORD })).status).toBe(401);
    const setup = await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD });
    expect(setup.status).toBe(200);
    const { secret, otpauthUri } = (await setup.json()) as { secret: string; otpauthUri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/); // 160 bits
    const uri = new URL(otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ secret, algorithm: 'SHA1', digits: '6', period: '30', issuer: 'accounts.example.test' });
    expect(decodeURIComponent(uri.pathname)).toContain(ADA);

    // Pending: nothing changed yet, and a wrong code leaves it pending.
    expect((await h.post('/login', { email: ADA, password: GOOD_PASSWORD })).status).toBe(200);
    const wrong = await h.bearer('POST', '/mfa/totp/enable', session, { code: wrongCode(h, secret) });
    expect(wrong.status).toBe(422);
    expect((await h.post('/login', { email: ADA, password: GOOD_PASSWORD })).status).toBe(200);
    const enabled = await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret) });
    expect(enabled.status).toBe(200);
    const { recoveryCodes } = (await enabled.json()) as { recoveryCodes: string[] };
    expect(recoveryCodes).toHaveLength(10);
    expect(new Set(recoveryCodes).size).toBe(10);
    expect((await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret, 1) })).status).toBe(409);
    expect((await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD })).status).toBe(409);

    // The password now gives a challenge: no session, no device token.
    h.clock.now += STEP_MS;
    const first = await h.post('/login', { email: ADA, password: GOOD_PASSWORD });
    expect(first.status).toBe(202);
    const body = (await first.json()) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['challenge', 'expiresAt', 'status']);
    const res = await h.post('/login/mfa', { challenge: body.challenge, code: codeNow(h, secret) });
    expect(res.status).toBe(200);
    const login = (await res.json()) as { user: { email: string }; session: { token: string }; device: { token: string } };
    expect(login.user.email).toBe(ADA);
    const seen = async (token: string) => ((await (await h.bearer('GET', '/session', token)).json()) as { session: { mfa: boolean } }).session.mfa;
    expect(await seen(login.session.token)).toBe(true);
    expect(await seen(session)).toBe(false);
    expect(h.events.filter((e) => e.event === 'login_ok').at(-1)).toMatchObject({ mfa: 'totp' });
  });

  it('the page version of setup shows the secret and a QR code drawn on the server', async () => {
    const h = await createHarness();
    await h.createActiveAccount(ADA);
    const session = await h.logIn(ADA);
    const res = await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD }, { Accept: 'text/html' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toMatch(/<svg [^>]*role="img"[^>]*viewBox="0 0 \d+ \d+"/);
    expect(page).toMatch(/<path fill="black" d="M/);
    const shown = /<code id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(page)![1]!.replace(/ /g, '');
    expect(shown).toMatch(/^[A-Z2-7]{32}$/);
    // The key shown is the one pending: its code turns it on.
    expect((await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, shown) })).status).toBe(200);
  });

  it('accepts the step before and after now for a clock off by one, but nothing older or newer', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, ADA);
    for (const [steps, status] of [[-2, 401], [2, 401], [-1, 200], [1, 200]] as const) {
      const challenge = await challengeFor(h, ADA);
      expect((await h.post('/login/mfa', { challenge, code: codeNow(h, secret, steps) })).status, `${steps} steps`).toBe(status);
      h.clock.now += 3 * STEP_MS;
    }
  });

  it('a recovery code logs in once, typed in any case and grouping; a new set ends the old one', async () => {
    const h = await createHarness();
    const { secret, recoveryCodes } = await enrol(h, ADA);
    const [one, two] = recoveryCodes as [string, string];
    const typed = one.toUpperCase().replace(/-/g, ' ');
    const ok = await h.post('/login/mfa', { challenge: await challengeFor(h, ADA), recoveryCode: typed });
    expect(ok.status).toBe(200);
    const session = ((await ok.json()) as { session: { token: string } }).session.token;
    expect(h.events.filter((e) => e.event === 'login_ok').at(-1)).toMatchObject({ mfa: 'recovery' });
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, ADA), recoveryCode: one })).status).toBe(401);

    // A new set: the password and a code; the old codes stop working, the new ones work.
    expect((await h.bearer('POST', '/mfa/recovery-codes', session, { password: GOOD_PASSWORD, code: wrongCode(h, secret) })).status).toBe(401);
    const replaced = await h.bearer('POST', '/mfa/recovery-codes', session, { password: GOOD_PASSWORD, code: codeNow(h, secret) });
    expect(replaced.status).toBe(200);
    const fresh = ((await replaced.json()) as { recoveryCodes: string[] }).recoveryCodes;
    expect(fresh.filter((c) => recoveryCodes.includes(c))).toEqual([]);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, ADA), recoveryCode: two })).status).toBe(401);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, ADA), recoveryCode: fresh[0] })).status).toBe(200);
  });

  it('turning it off asks for the password and a code, ends the other sessions and mails a notice', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, ADA);
    const { session } = await logInWithCode(h, ADA, secret);
    h.clock.now += STEP_MS;
    const { session: other } = await logInWithCode(h, ADA, secret);
    h.clock.now += STEP_MS;
    expect((await h.bearer('POST', '/mfa/totp/disable', session, { password: OTHER_PASSWORD, code: codeNow(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/mfa/totp/disable', session, { password: GOOD_PASSWORD, code: wrongCode(h, secret) })).status).toBe(401);
    expect(h.mails.filter((m) => m.template === 'second-factor-off')).toEqual([]);
    const off = await h.bearer('POST', '/mfa/totp/disable', session, { password: GOOD_PASSWORD, code: codeNow(h, secret) });
    expect(off.status).toBe(200);
    // The other login's session, and the one the account was enrolled with.
    expect(await off.json()).toEqual({ status: 'disabled', sessionsEnded: 2 });
    await h.later.settled();
    expect(h.mails.filter((m) => m.template === 'second-factor-off').map((m) => m.to)).toEqual([ADA]);
    expect((await h.bearer('GET', '/session', other)).status).toBe(401);
    expect((await h.bearer('GET', '/session', session)).status).toBe(200);
    expect((await h.post('/login', { email: ADA, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.bearer('POST', '/mfa/totp/disable', session, { password: GOOD_PASSWORD, code: codeNow(h, secret, 1) })).status).toBe(409);
    expect((await h.bearer('POST', '/mfa/recovery-codes', session, { password: GOOD_PASSWORD, code: codeNow(h, secret, 1) })).status).toBe(409);
    // And on again from the start, with a new secret.
    expect((await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('with TOTP on, changing the password and deleting the account ask for a code; off, they do not', async () => {
    const h = await createHarness();
    const { secret, session } = await enrol(h, ADA);
    const NEW = 'seven quiet otters under the bridge';
    const missing = await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: NEW });
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { type: string }).type).toMatch(/wrong-code$/);
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: NEW, code: wrongCode(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: NEW, code: codeNow(h, secret) })).status).toBe(200);
    // The new password with the authenticator still on.
    h.clock.now += STEP_MS;
    const { session: next } = await logInWithCode(h, ADA, secret, NEW);
    h.clock.now += STEP_MS;
    expect((await h.bearer('POST', '/delete-account', next, { password: NEW })).status).toBe(401);
    const deleted = await h.bearer('POST', '/delete-account', next, { password: NEW, code: codeNow(h, secret) });
    expect(deleted.status).toBe(204);
    // The account's rows of the second factor went with it.
    for (const table of ['mfa_totp', 'mfa_recovery_codes', 'mfa_challenges']) {
      expect((await h.db.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())?.n, table).toBe(0);
    }
    // Without TOTP, no code is asked.
    await h.createActiveAccount('grace@example.com');
    const plain = await h.logIn('grace@example.com');
    expect((await h.bearer('POST', '/change-password', plain, { currentPassword: GOOD_PASSWORD, newPassword: NEW })).status).toBe(200);
  });

  it('a password reset leaves TOTP on: the new password still asks for the code', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, ADA);
    const token = await h.forgotAndGetToken(ADA);
    const NEW = 'seven quiet otters under the bridge';
    expect((await h.post('/reset-password', { token, password: NEW })).status).toBe(200);
    await challengeFor(h, ADA, NEW);
    await logInWithCode(h, ADA, secret, NEW);
  });

  it('the purge deletes a login challenge once it has expired, and keeps a live one', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, 'ada@example.com');
    const old = await challengeFor(h, 'ada@example.com');
    h.clock.now += CHALLENGE_TTL_SECONDS * 1000;
    const live = await challengeFor(h, 'ada@example.com');
    expect(await purge(h.db, h.clock.now, 0)).toMatchObject({ challenges: 1 });
    // The live one still works; the purged one answers as any dead challenge does.
    expect((await h.post('/login/mfa', { challenge: old, code: codeNow(h, secret) })).status).toBe(401);
    expect((await h.post('/login/mfa', { challenge: live, code: codeNow(h, secret) })).status).toBe(200);
  });
});
