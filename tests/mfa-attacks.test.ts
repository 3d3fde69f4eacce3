/**
 * The second factor as an attacker meets it (issue 26): a thief who has the password but not the
 * authenticator, by every path to a session or a change; guessing codes, per challenge and per
 * account across many challenges and clients, while the owner still gets in; replays; a race;
 * and what a copy of the database and the log lines give away.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEFAULT_THROTTLE } from '../lib/config/config.ts';
import { newKeyBytes, sealerFromKey } from '../lib/crypto/seal.ts';
import { normalRecoveryCode } from '../lib/crypto/totp.ts';
import { secretLabel } from '../lib/flows/mfa-check.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { CHALLENGE_ATTEMPTS, CHALLENGE_TTL_SECONDS } from '../lib/storage/mfa.ts';
import { NIST_FAILURE_CEILING, worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { createHarness, dump, GOOD_PASSWORD, type Harness } from './support/harness.ts';
import { challengeFor, codeNow, enrol, logInWithCode, STEP_MS, wrongCode } from './support/totp.ts';

const OWNER = 'owner@example.com';
const OTHER = 'other@example.com';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const DAY = 86_400_000;
const policy = DEFAULT_THROTTLE.loginFailures;
const thiefClient = (n: number) => `203.0.113.${(n % 200) + 1}`;

const sessionCount = async (h: Harness) => (await h.db.prepare('SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL').first<{ n: number }>())!.n;
const deviceCount = async (h: Harness) => (await h.db.prepare('SELECT count(*) AS n FROM devices').first<{ n: number }>())!.n;
const passwordHash = async (h: Harness) => (await h.db.prepare('SELECT password_hash AS p FROM accounts WHERE email_key = ?').bind(OWNER).first<{ p: string }>())?.p;
const problemOf = async (res: Response) => ({ status: res.status, body: await res.text() });

describe(`second-factor attacks (${backend.name})`, () => {
  it('a thief with the password but not the authenticator gets no session by any path', async () => {
    // Seven free failures: the seven wrong or missing codes below, before the address waits.
    const h = await createHarness({ LOGIN_FREE_FAILURES: '7' });
    const { secret, session: stolenSession } = await enrol(h, OWNER);
    const { device: stolenDevice } = await logInWithCode(h, OWNER, secret);
    h.clock.now += STEP_MS;
    const sessions = await sessionCount(h);
    const devices = await deviceCount(h);
    const hashBefore = await passwordHash(h);
    h.client.address = thiefClient(1);

    // Login, with and without the owner's device token: a challenge, never a session or a token.
    for (const headers of [{}, { [DEVICE_HEADER]: stolenDevice }] as Array<Record<string, string>>) {
      const res = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD }, headers);
      expect(res.status).toBe(202);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).not.toHaveProperty('session');
      expect(body).not.toHaveProperty('device');
      expect((await h.post('/login/mfa', { challenge: body.challenge, code: wrongCode(h, secret) })).status).toBe(401);
    }
    // A stolen session and the password: changing the password or deleting the account asks for the code.
    expect((await h.bearer('POST', '/change-password', stolenSession, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD })).status).toBe(401);
    expect((await h.bearer('POST', '/change-password', stolenSession, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, code: wrongCode(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/delete-account', stolenSession, { password: GOOD_PASSWORD })).status).toBe(401);
    // Nor can the account be moved to the thief's address, with or without a guessed code.
    const moved = await h.bearer('POST', '/change-email', stolenSession, { password: GOOD_PASSWORD, newEmail: 'thief@example.net' });
    expect(await problemOf(moved)).toMatchObject({ status: 401, body: expect.stringContaining('wrong-code') });
    expect((await h.bearer('POST', '/change-email', stolenSession, { password: GOOD_PASSWORD, newEmail: 'thief@example.net', code: wrongCode(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/mfa/totp/disable', stolenSession, { password: GOOD_PASSWORD, code: wrongCode(h, secret) })).status).toBe(401);
    expect((await h.bearer('POST', '/mfa/recovery-codes', stolenSession, { password: GOOD_PASSWORD, code: wrongCode(h, secret) })).status).toBe(401);
    // Every wrong or missing code above counted toward the address: it waits now.
    const waiting = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD });
    expect(waiting.status).toBe(429);
    h.clock.now += Number(waiting.headers.get('Retry-After')) * 1000;
    // The password is unchanged, the account is there, TOTP is on.
    await challengeFor(h, OWNER);
    expect(await passwordHash(h)).toBe(hashBefore);
    // The thief who can also read the owner's mail resets the password: the login still asks for the code.
    const reset = await h.forgotAndGetToken(OWNER);
    expect((await h.post('/reset-password', { token: reset, password: NEW_PASSWORD })).status).toBe(200);
    const challenge = await challengeFor(h, OWNER, NEW_PASSWORD);
    expect((await h.post('/login/mfa', { challenge, code: wrongCode(h, secret) })).status).toBe(401);
    // No session was made and no device token issued by any of it (the reset ended the old sessions and tokens).
    expect(await sessionCount(h)).toBe(0);
    expect(sessions).toBeGreaterThan(0);
    expect(await deviceCount(h)).toBeLessThanOrEqual(devices);
    expect(h.events.filter((e) => e.event === 'session_created' && e.client === thiefClient(1))).toEqual([]);
    // No link to move the account was ever mailed.
    await h.later.settled();
    expect(h.mails.filter((m) => m.template === 'email-change')).toEqual([]);
  });

  it('a challenge dies after 5 wrong codes, even for the right one; each wrong code counts in the back-off', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, OWNER);
    const challenge = await challengeFor(h, OWNER);
    for (let i = 0; i < CHALLENGE_ATTEMPTS; i++) expect((await h.post('/login/mfa', { challenge, code: wrongCode(h, secret) })).status).toBe(401);
    expect((await h.post('/login/mfa', { challenge, code: codeNow(h, secret) })).status).toBe(401);
    // The address counted the password step and the four further codes: five, as five logins would.
    const hits = await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>();
    expect(hits?.hits).toBe(CHALLENGE_ATTEMPTS);
    // Past the free failures the address waits: 429 with when, at the password or at the code.
    const next = await challengeFor(h, OWNER);
    const refused = await h.post('/login/mfa', { challenge: next, code: wrongCode(h, secret) });
    expect(refused.status).toBe(401);
    const throttled = await h.post('/login/mfa', { challenge: next, code: codeNow(h, secret) });
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('Retry-After'))).toBeGreaterThan(0);
    h.clock.now += Number(throttled.headers.get('Retry-After')) * 1000;
    expect((await h.post('/login/mfa', { challenge: next, code: codeNow(h, secret) })).status).toBe(200);
  });

  it('guessing for a day across many challenges and clients checks no more codes than the back-off allows, and the owner with a known device still gets in', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, OWNER);
    const { device } = await logInWithCode(h, OWNER, secret);
    h.clock.now += STEP_MS;
    const end = h.clock.now + DAY;
    let n = 0;
    let checked = 0;
    let sessions = 0;
    while (h.clock.now < end) {
      h.client.address = thiefClient(n++);
      const login = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD });
      if (login.status === 429) {
        h.clock.now += Number(login.headers.get('Retry-After')) * 1000;
        continue;
      }
      expect(login.status).toBe(202);
      const { challenge } = (await login.json()) as { challenge: string };
      for (let i = 0; i < CHALLENGE_ATTEMPTS; i++) {
        h.client.address = thiefClient(n++);
        const res = await h.post('/login/mfa', { challenge, code: wrongCode(h, secret) });
        if (res.status === 429) {
          h.clock.now += Number(res.headers.get('Retry-After')) * 1000;
          break;
        }
        expect(res.status).toBe(401);
        checked += 1;
        if (res.status === 200) sessions += 1;
      }
    }
    // Every code checked was an attempt the address's back-off allowed: as many as password guesses would be.
    expect(checked).toBeGreaterThan(10);
    expect(checked).toBeLessThanOrEqual(Math.min(worstCaseFailures(policy, 86_400), NIST_FAILURE_CEILING));
    expect(h.events.filter((e) => e.event === 'mfa_failed' && e.reason === 'code')).toHaveLength(checked);
    expect(sessions).toBe(0);
    // The thief keeps the address waiting; the owner, with the device token of an earlier login, is not kept out.
    for (let armed = false; !armed; ) {
      const login = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD });
      armed = login.status === 429;
      if (armed) break;
      const { challenge } = (await login.json()) as { challenge: string };
      for (let i = 0; i < CHALLENGE_ATTEMPTS; i++) await h.post('/login/mfa', { challenge, code: wrongCode(h, secret) });
    }
    h.client.address = '198.51.100.20';
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(429);
    const owner = await logInWithCode(h, OWNER, secret, GOOD_PASSWORD, device);
    expect(owner.session).toBeTruthy();
  });

  it("a stolen device token gives the thief no more than the devices' allowance of challenges, each counted toward the address", async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, OWNER);
    const { device } = await logInWithCode(h, OWNER, secret);
    h.clock.now += STEP_MS;
    let viaDevice = 0;
    for (let round = 0; round < 12; round++) {
      const res = await h.post('/login', { email: OWNER, password: GOOD_PASSWORD }, { [DEVICE_HEADER]: device });
      if (res.status !== 202) break;
      if (h.events.filter((e) => e.event === 'mfa_challenge_issued').at(-1)?.device === true) viaDevice += 1;
      const { challenge } = (await res.json()) as { challenge: string };
      for (let i = 0; i < CHALLENGE_ATTEMPTS; i++) expect([401, 429]).toContain((await h.post('/login/mfa', { challenge, code: wrongCode(h, secret) })).status);
    }
    expect(viaDevice).toBe(5); // DEFAULT_DEVICES.maxFailures: then the token is not trusted, and the address's back-off holds
    expect(h.events.filter((e) => e.event === 'session_created').length).toBe(2); // the owner's two, from enrolment and the login above
  });

  it('replays: a code just used, a recovery code used, a challenge used, and one account\'s challenge with another\'s code', async () => {
    const h = await createHarness();
    const owner = await enrol(h, OWNER);
    const other = await enrol(h, OTHER);
    const used = codeNow(h, owner.secret);
    const challenge = await challengeFor(h, OWNER);
    expect((await h.post('/login/mfa', { challenge, code: used })).status).toBe(200);
    // The same code on a new challenge, within its step and the next: refused.
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: used })).status).toBe(401);
    h.clock.now += STEP_MS;
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: used })).status).toBe(401);
    // The used challenge with a fresh, right code: refused.
    expect((await h.post('/login/mfa', { challenge, code: codeNow(h, owner.secret) })).status).toBe(401);
    // A recovery code, twice.
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: owner.recoveryCodes[0] })).status).toBe(200);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: owner.recoveryCodes[0] })).status).toBe(401);
    // The other account's challenge with the owner's code and recovery code, and the reverse.
    h.clock.now += STEP_MS;
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OTHER), code: codeNow(h, owner.secret) })).status).toBe(401);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OTHER), recoveryCode: owner.recoveryCodes[1] })).status).toBe(401);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: codeNow(h, other.secret) })).status).toBe(401);
    // The owner's recovery code was not spent by the other account's challenge.
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: owner.recoveryCodes[1] })).status).toBe(200);
  });

  it('replays behind a session: a thief with the session and the password, who saw a code or a recovery code the owner just used, changes nothing with it; each replay counts in the back-off', async () => {
    // Room for every replay in the session's own back-off, so that each is checked.
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off', LOGIN_FREE_FAILURES: '10' });
    const owner = await enrol(h, OWNER);
    const used = codeNow(h, owner.secret);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: used })).status).toBe(200);
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: owner.recoveryCodes[0] })).status).toBe(200);
    const failures = async () => (await h.db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${OWNER}`).first<{ hits: number }>())?.hits ?? 0;
    const before = { db: await dump(h.db), failures: await failures() };
    const replays = [
      () => h.bearer('POST', '/mfa/totp/disable', owner.session, { password: GOOD_PASSWORD, code: used }),
      () => h.bearer('POST', '/mfa/totp/disable', owner.session, { password: GOOD_PASSWORD, code: owner.recoveryCodes[0] }),
      () => h.bearer('POST', '/change-password', owner.session, { currentPassword: GOOD_PASSWORD, newPassword: NEW_PASSWORD, code: used }),
      () => h.bearer('POST', '/delete-account', owner.session, { password: GOOD_PASSWORD, code: owner.recoveryCodes[0] }),
      () => h.bearer('POST', '/change-email', owner.session, { password: GOOD_PASSWORD, newEmail: 'thief@example.com', code: used }),
    ];
    for (const replay of replays) expect((await replay()).status).toBe(401);
    // Nothing changed but the session's own count (a password check each); no new set of recovery codes either.
    expect(await dump(h.db)).toBe(before.db);
    expect((await h.bearer('POST', '/mfa/recovery-codes', owner.session, { password: GOOD_PASSWORD, code: owner.recoveryCodes[0] })).status).toBe(401);
    expect(await dump(h.db)).toBe(before.db);
    expect(await failures()).toBe(before.failures + replays.length + 1);
    expect(h.mails.filter((m) => m.to === 'thief@example.com')).toHaveLength(0);
  });

  it('a wrong code and an unknown, used, expired, dead or malformed challenge get one answer', async () => {
    const h = await createHarness();
    const { secret } = await enrol(h, OWNER);
    const answers: Array<{ status: number; body: string }> = [];
    answers.push(await problemOf(await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: wrongCode(h, secret) })));
    answers.push(await problemOf(await h.post('/login/mfa', { challenge: `${'a'.repeat(22)}.${'b'.repeat(43)}`, code: codeNow(h, secret) })));
    answers.push(await problemOf(await h.post('/login/mfa', { challenge: 'not a challenge', code: codeNow(h, secret) })));
    const used = await challengeFor(h, OWNER);
    expect((await h.post('/login/mfa', { challenge: used, code: codeNow(h, secret) })).status).toBe(200);
    h.clock.now += STEP_MS;
    answers.push(await problemOf(await h.post('/login/mfa', { challenge: used, code: codeNow(h, secret) })));
    const late = await challengeFor(h, OWNER);
    h.clock.now += CHALLENGE_TTL_SECONDS * 1000;
    answers.push(await problemOf(await h.post('/login/mfa', { challenge: late, code: codeNow(h, secret) })));
    expect(answers.every((a) => a.status === 401 && a.body === answers[0]!.body), JSON.stringify(answers)).toBe(true);
  });

  it('two POST /login/mfa with the same code at once make one session', async () => {
    const h = await createHarness();
    const { secret, recoveryCodes } = await enrol(h, OWNER);
    const a = await challengeFor(h, OWNER);
    const b = await challengeFor(h, OWNER);
    const code = codeNow(h, secret);
    const both = await Promise.all([h.post('/login/mfa', { challenge: a, code }), h.post('/login/mfa', { challenge: b, code })]);
    expect(both.map((r) => r.status).sort()).toEqual([200, 401]);
    // The same challenge twice at once, each with a different good factor: one session.
    h.clock.now += STEP_MS;
    const c = await challengeFor(h, OWNER);
    const same = await Promise.all([h.post('/login/mfa', { challenge: c, code: codeNow(h, secret) }), h.post('/login/mfa', { challenge: c, recoveryCode: recoveryCodes[0] })]);
    expect(same.map((r) => r.status).sort()).toEqual([200, 401]);
    expect(h.events.filter((e) => e.event === 'session_created')).toHaveLength(3); // enrolment's, and one of each pair
  });

  it('a sealed secret moved to another account, or sealed under another key, opens for nobody: a wrong code, never a 500', async () => {
    const h = await createHarness();
    const owner = await enrol(h, OWNER);
    const other = await enrol(h, OTHER);
    // The attacker with write access to the database copies their own sealed secret into the owner's row.
    const row = (email: string) => h.db.prepare('SELECT t.secret_sealed AS sealed FROM mfa_totp t JOIN accounts a ON a.id = t.account_id WHERE a.email_key = ?').bind(email).first<{ sealed: string }>();
    const theirs = (await row(OTHER))!.sealed;
    await h.db.prepare('UPDATE mfa_totp SET secret_sealed = ? WHERE account_id = (SELECT id FROM accounts WHERE email_key = ?)').bind(theirs, OWNER).run();
    for (const secret of [other.secret, owner.secret]) {
      const res = await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), code: codeNow(h, secret) });
      expect(res.status).toBe(401);
    }
    expect(h.events.filter((e) => e.event === 'mfa_failed' && e.reason === 'unreadable')).toHaveLength(2);
    // A recovery code still opens the owner's account: the operator's case only when those are gone too.
    expect((await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: owner.recoveryCodes[0] })).status).toBe(200);
    // A pending secret that does not open: set up again (409), never a 500.
    await h.createActiveAccount('third@example.com');
    const session = await h.logIn('third@example.com');
    const { secret } = (await (await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD })).json()) as { secret: string };
    await h.db.prepare('UPDATE mfa_totp SET secret_sealed = ? WHERE enabled_at IS NULL').bind(theirs).run();
    expect((await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret) })).status).toBe(409);
  });

  it('a copy of the database holds no usable secret or recovery code, and no log line holds either, nor a code or a challenge', async () => {
    const h = await createHarness();
    const { secret, recoveryCodes } = await enrol(h, OWNER);
    const code = codeNow(h, secret);
    const challenge = await challengeFor(h, OWNER);
    expect((await h.post('/login/mfa', { challenge, code })).status).toBe(200);
    await h.post('/login/mfa', { challenge: await challengeFor(h, OWNER), recoveryCode: recoveryCodes[0] });
    const copy = `${await dump(h.db)}\n${JSON.stringify((await h.db.prepare('SELECT * FROM mfa_totp').all()).results)}\n${JSON.stringify((await h.db.prepare('SELECT * FROM mfa_recovery_codes').all()).results)}`;
    for (const form of [secret, secret.toLowerCase(), ...recoveryCodes, ...recoveryCodes.map(normalRecoveryCode)]) expect(copy).not.toContain(form);
    // The sealed secret opens only with DATA_KEY, and only for its own account.
    const row = (await h.db.prepare('SELECT account_id AS accountId, secret_sealed AS sealed FROM mfa_totp').first<{ accountId: string; sealed: string }>())!;
    expect(row.sealed).toMatch(/^v1\./);
    await expect(sealerFromKey(newKeyBytes()).open(row.sealed, secretLabel(row.accountId))).rejects.toThrow();
    await expect(h.deps.sealer.open(row.sealed, secretLabel('00000000-0000-0000-0000-000000000000'))).rejects.toThrow();
    expect(await h.deps.sealer.open(row.sealed, secretLabel(row.accountId))).toBe(secret);
    const lines = JSON.stringify(h.events);
    for (const text of [secret, code, challenge, challenge.split('.')[1]!, ...recoveryCodes, ...recoveryCodes.map(normalRecoveryCode)]) expect(lines).not.toContain(text);
  });
});
