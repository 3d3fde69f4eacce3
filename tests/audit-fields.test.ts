/**
 * The security events say what happened, field by field, so that someone reading the log after an
 * incident can tell a guess from a typo and a stolen device from an unknown address: whether a
 * login came with a trusted device, why a login failed, whose hash was upgraded, which account's
 * device locked, which session a login created. (Mutation testing showed that none of these fields
 * had a test.) And the flows' edge cases that only their answers show.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { Database, Statement } from '../lib/storage/db.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { createHarness, dump, FAST_SCRYPT, GOOD_PASSWORD, harnessOn, OTHER_PASSWORD, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';

const login = (h: Harness, email: string, password: string, device?: string) =>
  h.post('/login', { email, password }, device ? { [DEVICE_HEADER]: device } : {});
const deviceOf = async (res: Response) => ((await res.json()) as { device: { token: string } }).device.token;
const last = (h: Harness, event: string) => h.events.filter((e) => e.event === event).at(-1);

describe(`what the security events say (${backend.name})`, () => {
  it('login_ok and login_failed name the account, the reason and whether a trusted device carried the attempt', async () => {
    const h = await createHarness({ DEVICE_MAX_FAILURES: '2' });
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;

    const device = await deviceOf(await login(h, OWNER, GOOD_PASSWORD));
    expect(last(h, 'login_ok')).toMatchObject({ accountId, device: false });
    const next = await deviceOf(await login(h, OWNER, GOOD_PASSWORD, device));
    expect(last(h, 'login_ok')).toMatchObject({ accountId, device: true });

    await login(h, OWNER, OTHER_PASSWORD);
    expect(last(h, 'login_failed')).toEqual(expect.objectContaining({ accountId, reason: 'password', device: false }));
    await login(h, OWNER, OTHER_PASSWORD, next);
    expect(last(h, 'login_failed')).toEqual(expect.objectContaining({ accountId, reason: 'password', device: true }));
    expect(h.events.filter((e) => e.event === 'device_locked')).toEqual([]);
    await login(h, OWNER, OTHER_PASSWORD, next);
    expect(last(h, 'device_locked')).toMatchObject({ accountId });

    await login(h, 'nobody@example.com', GOOD_PASSWORD);
    const unknown = last(h, 'login_failed')!;
    expect(unknown.reason).toBe('no-account');
    expect(unknown).not.toHaveProperty('accountId');
  });

  it('session_created names the account and the session (its id, never the token)', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    const token = await h.logIn(OWNER);
    expect(last(h, 'session_created')).toEqual(expect.objectContaining({ accountId, session: token.split('.')[0] }));
    expect(JSON.stringify(h.events)).not.toContain(token.split('.')[1]);
  });

  it('only the Bearer scheme carries a session: the same live token under another scheme name is the one 401', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const token = await h.logIn(OWNER);
    expect((await h.bearer('GET', '/session', undefined, undefined, { Authorization: `Bearer ${token}` })).status).toBe(200);
    for (const scheme of ['NotBearer', 'XBearer', 'Basic Bearer']) {
      expect((await h.bearer('GET', '/session', undefined, undefined, { Authorization: `${scheme} ${token}` })).status, scheme).toBe(401);
    }
  });

  it('password_rehashed names the account whose hash was upgraded', async () => {
    const old = await createHarness();
    await old.createActiveAccount(OWNER);
    const accountId = last(old, 'activated')!.accountId;
    const stronger = harnessOn(old.db, { ...FAST_SCRYPT, SCRYPT_LOG_N: '5' });
    expect((await login(stronger, OWNER, GOOD_PASSWORD)).status).toBe(200);
    expect(last(stronger, 'password_rehashed')).toMatchObject({ accountId });
  });

  it('a rehash that fails with a bug is a 500 that changes nothing; only a full hash queue lets the login go on without it', async () => {
    const old = await createHarness();
    await old.createActiveAccount(OWNER);
    const stored = async () => (await old.db.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;
    const before = await stored();
    const broken = harnessOn(old.db, { ...FAST_SCRYPT, SCRYPT_LOG_N: '5' }, (hasher) => ({
      ...hasher,
      hash: async () => {
        throw new TypeError('a bug in the hasher');
      },
    }));
    expect((await login(broken, OWNER, GOOD_PASSWORD)).status).toBe(500);
    expect(await stored()).toBe(before);
    expect(broken.events.map((e) => e.event)).not.toContain('login_ok');
  });

  it('a second use of an activation link answers 200 and logs nothing: it is not a refusal, nor a new activation', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken(OWNER);
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
    const events = h.events.length;
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
    expect(h.events.slice(events)).toEqual([]);
  });

  it('activating with another password and no confirmation asks for the confirmation; a different confirmation says they differ', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken(OWNER);
    const unconfirmed = await h.post('/activate', { token, password: OTHER_PASSWORD });
    expect(unconfirmed.status).toBe(422);
    expect(((await unconfirmed.json()) as { errors: unknown[] }).errors).toEqual([
      { pointer: '/confirmPassword', detail: expect.stringMatching(/not the password this link was registered with.*confirmPassword/) },
    ]);
    const differs = await h.post('/activate', { token, password: OTHER_PASSWORD, confirmPassword: `${OTHER_PASSWORD}!` });
    expect(differs.status).toBe(422);
    expect(((await differs.json()) as { errors: unknown[] }).errors).toEqual([{ pointer: '/confirmPassword', detail: 'Must be the same as password.' }]);
    expect(h.events.filter((e) => e.event === 'activation_refused').map((e) => e.reason)).toEqual(['unconfirmed', 'confirmation-differs']);
  });
});

describe(`what the account-change events say, and a deletion racing a password change (${backend.name})`, () => {
  it('password_change_failed, password_changed and session_revoked name the account, the reason, the session and the count', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    const alone = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/change-password', alone, { currentPassword: OTHER_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(401);
    expect(last(h, 'password_change_failed')).toEqual(expect.objectContaining({ accountId, reason: 'password' }));
    // The only session changes the password: nothing else to end, so no session_revoked.
    expect((await h.bearer('POST', '/change-password', alone, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);
    expect(last(h, 'password_changed')).toEqual(expect.objectContaining({ accountId, session: alone.split('.')[0] }));
    expect(h.events.filter((e) => e.event === 'session_revoked')).toEqual([]);
    const other = await h.logIn(OWNER, OTHER_PASSWORD);
    await h.logIn(OWNER, OTHER_PASSWORD);
    expect((await h.bearer('POST', '/change-password', other, { currentPassword: OTHER_PASSWORD, newPassword: GOOD_PASSWORD })).status).toBe(200);
    expect(last(h, 'session_revoked')).toEqual(expect.objectContaining({ accountId, count: 2, reason: 'password-changed' }));
  });

  it('a password reset that ends sessions logs session_revoked with the account, the count and reason password-reset; one that ends none logs none', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    // No session at all: the reset ends nothing, so no session_revoked.
    expect((await h.post('/reset-password', { token: await h.forgotAndGetToken(OWNER), password: OTHER_PASSWORD })).status).toBe(200);
    expect(last(h, 'password_reset')).toEqual(expect.objectContaining({ accountId }));
    expect(h.events.filter((e) => e.event === 'session_revoked')).toEqual([]);
    // Two live sessions and one already logged out: the next reset ends the two.
    const [phone, laptop, gone] = [await h.logIn(OWNER, OTHER_PASSWORD), await h.logIn(OWNER, OTHER_PASSWORD), await h.logIn(OWNER, OTHER_PASSWORD)];
    expect((await h.bearer('POST', '/logout', gone)).status).toBe(204);
    h.client.address = '203.0.113.9'; // the owner, from another network, with the mailbox
    expect((await h.post('/reset-password', { token: await h.forgotAndGetToken(OWNER), password: GOOD_PASSWORD })).status).toBe(200);
    expect(h.events.filter((e) => e.event === 'session_revoked')).toEqual([expect.objectContaining({ accountId, count: 2, reason: 'password-reset' })]);
    for (const token of [phone, laptop]) expect((await h.bearer('GET', '/session', token)).status).toBe(401);
  });

  it('a deletion logs account_deleted and session_ended, each naming the account, and why the sessions ended', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    const token = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD })).status).toBe(204);
    expect(last(h, 'session_ended')).toEqual(expect.objectContaining({ accountId, reason: 'account-deleted' }));
    expect(last(h, 'account_deleted')).toEqual(expect.objectContaining({ accountId }));
  });

  it('a wrong password at delete-account is logged as such; a password changed while the deletion was on its way deletes nothing', async () => {
    // Just before the deletion's batch (the request's second: its first reads the session and
    // charges it), another request changes the account's password.
    let raceOn: ((db: Database) => Promise<void>) | undefined;
    let batchesBefore = 0;
    const racing = (db: Database): Database => ({
      prepare: (sql) => db.prepare(sql),
      async batch(statements) {
        if (raceOn && batchesBefore-- > 0) return db.batch(statements);
        const race = raceOn;
        raceOn = undefined;
        if (race) await race(db);
        return db.batch(statements);
      },
    });
    const h = await createHarness({}, racing);
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    const token = await h.logIn(OWNER);
    expect((await h.bearer('POST', '/delete-account', token, { password: OTHER_PASSWORD })).status).toBe(401);
    expect(last(h, 'account_delete_failed')).toEqual(expect.objectContaining({ accountId, reason: 'password' }));

    raceOn = async (db) => void (await db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ?').bind('$scrypt$changed-meanwhile', String(accountId)).run());
    batchesBefore = 1;
    const before = await dump(h.db);
    expect((await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD })).status).toBe(401);
    expect(await dump(h.db)).toBe(before.replace(/"password_hash":"[^"]*"/, '"password_hash":"$scrypt$changed-meanwhile"'));
    expect(last(h, 'account_delete_failed')).toEqual(expect.objectContaining({ accountId, reason: 'concurrent' }));
    expect(h.events.map((e) => e.event)).not.toContain('account_deleted');
    expect(h.mails.map((m) => m.template)).not.toContain('account-deleted');
  });
});

describe(`what the register and password-reset events say (${backend.name})`, () => {
  it('registered names the address; password_reset_requested says whether the address was active, pending or unknown, and names the account only for an account', async () => {
    const h = await createHarness();
    await h.post('/register', { email: 'Pending@Example.com', password: GOOD_PASSWORD });
    expect(last(h, 'registered')).toEqual(expect.objectContaining({ email: 'pending@example.com' }));
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;

    // The answer is the same 202 for all three (tests/forgot-enumeration.test.ts); only the log,
    // read by the operator after an incident, may tell them apart.
    const asked = async (email: string) => {
      expect((await h.post('/forgot-password', { email })).status).toBe(202);
      return last(h, 'password_reset_requested')!;
    };
    expect(await asked(OWNER)).toEqual(expect.objectContaining({ outcome: 'active', accountId }));
    const pending = await asked('pending@example.com');
    expect(pending).toEqual(expect.objectContaining({ outcome: 'pending' }));
    expect(pending).not.toHaveProperty('accountId');
    const unknown = await asked('nobody@example.com');
    expect(unknown).toEqual(expect.objectContaining({ outcome: 'unknown' }));
    expect(unknown).not.toHaveProperty('accountId');
  });

  it('activation_resent says whether the address was pending, active or unknown, and names the account only for an account', async () => {
    const h = await createHarness();
    await h.post('/register', { email: 'pending@example.com', password: GOOD_PASSWORD });
    await h.createActiveAccount(OWNER);
    const accountId = last(h, 'activated')!.accountId;
    const resent = async (email: string) => {
      expect((await h.post('/resend-activation', { email })).status).toBe(202);
      return last(h, 'activation_resent')!;
    };
    const pending = await resent('pending@example.com');
    expect(pending).toEqual(expect.objectContaining({ outcome: 'pending' }));
    expect(pending).not.toHaveProperty('accountId');
    expect(await resent(OWNER)).toEqual(expect.objectContaining({ outcome: 'active', accountId }));
    const unknown = await resent('nobody@example.com');
    expect(unknown).toEqual(expect.objectContaining({ outcome: 'unknown' }));
    expect(unknown).not.toHaveProperty('accountId');
  });

  it('password_reset_refused says whether the link was expired or did not work at all', async () => {
    const h = await createHarness();
    await h.createActiveAccount(OWNER);
    const refusals = () => h.events.filter((e) => e.event === 'password_reset_refused').map((e) => e.reason);
    expect((await h.post('/reset-password', { token: 'A'.repeat(43), password: OTHER_PASSWORD })).status).toBe(400);
    const token = await h.forgotAndGetToken(OWNER);
    h.clock.now += h.deps.config.resetTokenTtlSeconds * 1000;
    expect((await h.post('/reset-password', { token, password: OTHER_PASSWORD })).status).toBe(410);
    expect(refusals()).toEqual(['invalid', 'expired']);
  });

  it('a registration that loses the race with the activation of its address gets the same 202, and the notice an active address gets', async () => {
    // Just before the registration's insert, the address's earlier link is activated: the insert
    // finds an account that the lookup before it did not.
    let raceOn: (() => Promise<void>) | undefined;
    // The registration's insert runs in a batch with its mails: the race runs before that batch.
    const registrationInserts = new WeakSet<Statement>();
    const racing = (db: Database): Database => ({
      prepare(sql) {
        const statement = db.prepare(sql);
        if (!sql.trimStart().startsWith('INSERT INTO registrations')) return statement;
        return {
          bind: (...values) => {
            const bound = statement.bind(...values);
            registrationInserts.add(bound);
            return bound;
          },
          first: () => statement.first(),
          all: () => statement.all(),
          run: () => statement.run(),
        };
      },
      async batch(statements) {
        const race = raceOn;
        if (race && statements.some((s) => registrationInserts.has(s))) {
          raceOn = undefined;
          await race();
        }
        return db.batch(statements);
      },
    });
    const h = await createHarness({}, racing);
    const token = await h.registerAndGetToken(OWNER);
    const usual = await (await h.post('/register', { email: 'someone@example.com', password: OTHER_PASSWORD })).json();
    raceOn = async () => expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
    const mails = h.mails.length;
    const res = await h.post('/register', { email: OWNER, password: OTHER_PASSWORD });
    expect(raceOn).toBeUndefined(); // the race ran
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual(usual);
    // Which mail goes is decided in SQL when the batch commits, and by then the address has its
    // account: the owner hears of the attempt, as for any registration of an active address.
    expect(h.mails.slice(mails).map((m) => [m.template, m.to])).toEqual([['already-registered', OWNER]]);
    expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(200);
  });
});
