// The host's hooks (onActivated, onPasswordChanged, onAccountDeleted: lib/flows/hooks.ts), over
// HTTP and through the api: called once each, after the commit (the row is there when the hook
// runs), with the public view and never a hash; awaited before the answer; never called when a
// statement of the change failed; a hook that throws leaves the answer standing, logged.
import { describe, expect, it } from 'vitest';
import type { LatchkeyUser } from '../functions/latchkey.ts';
import { faultPlan, faultyDatabase } from './support/faults.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type ExtraOptions, type Harness } from './support/harness.ts';
import { until } from './support/until.ts';

const EMAIL = 'ada@example.com';

interface Call {
  hook: string;
  arg: unknown;
  /** What the database held when the hook ran: the account's hash, or null when it was gone. */
  storedHash: string | null;
}

/** A harness whose hooks record each call, and what the database held at that moment. */
async function recording(options: { wrap?: Parameters<typeof createHarness>[1]; vars?: Record<string, string> } = {}) {
  const calls: Call[] = [];
  let h: Harness | undefined;
  const stored = async (email: string) =>
    (await h!.db.prepare('SELECT password_hash AS hash FROM accounts WHERE email = ?').bind(email).first<{ hash: string }>())?.hash ?? null;
  const record = (hook: string) => async (arg: { email: string }) => void calls.push({ hook, arg, storedHash: await stored(arg.email) });
  const hooks: ExtraOptions = { onActivated: record('onActivated'), onPasswordChanged: record('onPasswordChanged'), onAccountDeleted: record('onAccountDeleted') };
  h = await createHarness(options.vars, options.wrap, undefined, hooks);
  return { h, calls };
}

const isUser = (arg: unknown) => {
  expect(Object.keys(arg as object).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
  return arg as LatchkeyUser;
};

describe('hooks over HTTP', () => {
  it('each is called once, after its commit, with the public view', async () => {
    const { h, calls } = await recording();
    await h.createActiveAccount(EMAIL);
    expect(calls.map((c) => c.hook)).toEqual(['onActivated']);
    const user = isUser(calls[0]!.arg);
    // The account was in the database when the hook ran.
    expect(calls[0]!.storedHash).toMatch(/^\$scrypt/);
    const token = await h.logIn(EMAIL);
    expect(user).toEqual(((await (await h.bearer('GET', '/session', token)).json()) as { user: unknown }).user);

    // A second use of the link, a wrong password: nothing was activated or changed, no call.
    expect((await h.bearer('POST', '/change-password', token, { currentPassword: OTHER_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(401);
    expect(calls).toHaveLength(1);
    expect((await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).status).toBe(200);
    expect(calls.map((c) => c.hook)).toEqual(['onActivated', 'onPasswordChanged']);
    expect(calls[1]!.arg).toEqual(user);
    // The new hash was committed before the hook ran.
    expect(calls[1]!.storedHash).not.toBe(calls[0]!.storedHash);

    const reset = await h.forgotAndGetToken(EMAIL);
    const before = calls[1]!.storedHash;
    expect((await h.post('/reset-password', { token: reset, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/reset-password', { token: reset, password: GOOD_PASSWORD })).status).toBe(400);
    expect(calls.map((c) => c.hook)).toEqual(['onActivated', 'onPasswordChanged', 'onPasswordChanged']);
    expect(calls[2]!.arg).toEqual(user);
    expect(calls[2]!.storedHash).not.toBe(before);

    const again = await h.logIn(EMAIL);
    expect((await h.bearer('POST', '/delete-account', again, { password: OTHER_PASSWORD })).status).toBe(401);
    expect((await h.bearer('POST', '/delete-account', again, { password: GOOD_PASSWORD })).status).toBe(204);
    expect(calls.at(-1)).toEqual({ hook: 'onAccountDeleted', arg: { id: user.id, email: EMAIL }, storedHash: null });
    expect(calls).toHaveLength(4);
    expect(JSON.stringify(calls.map((c) => c.arg))).not.toMatch(/scrypt|hash/i);
  });
});

describe('hooks through the api', () => {
  it('the same calls, once each, with the same views', async () => {
    const { h, calls } = await recording();
    await h.api.register({ email: EMAIL, password: GOOD_PASSWORD });
    await h.later.settled();
    const link = tokenFromLink(h.mails.at(-1)?.link);
    expect(await h.api.activate({ token: link, password: GOOD_PASSWORD })).toMatchObject({ kind: 'activated' });
    expect(await h.api.activate({ token: link, password: GOOD_PASSWORD })).toMatchObject({ kind: 'active' });
    const login = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (login.kind !== 'ok') throw new Error(login.kind);
    expect(calls.map((c) => c.arg)).toEqual([login.user]);
    expect(calls[0]!.storedHash).toMatch(/^\$scrypt/);

    const session = login.session.token;
    expect((await h.api.changePassword(session, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).kind).toBe('changed');
    await h.api.forgotPassword({ email: EMAIL });
    await h.later.settled();
    const reset = tokenFromLink(h.mails.filter((m) => m.template === 'password-reset').at(-1)?.link);
    expect((await h.api.resetPassword({ token: reset, password: GOOD_PASSWORD })).kind).toBe('changed');
    const again = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (again.kind !== 'ok') throw new Error(again.kind);
    expect((await h.api.deleteAccount(again.session.token, { password: GOOD_PASSWORD })).kind).toBe('deleted');
    expect(calls.map((c) => c.hook)).toEqual(['onActivated', 'onPasswordChanged', 'onPasswordChanged', 'onAccountDeleted']);
    expect(calls.map((c) => c.arg)).toEqual([login.user, login.user, login.user, { id: login.user.id, email: EMAIL }]);
  });
});

describe('onEmailChanged: a change of address and its undo', () => {
  it('is called once after the confirmation commits and once after the undo, over the api and HTTP, and not for a refused link', async () => {
    const changes: Array<{ id: string; email: string; previousEmail: string; stored: string | undefined }> = [];
    let h: Harness | undefined;
    const storedEmail = async (id: string) => (await h!.db.prepare('SELECT email FROM accounts WHERE id = ?').bind(id).first<{ email: string }>())?.email;
    h = await createHarness({}, undefined, undefined, {
      onEmailChanged: async (change) => void changes.push({ ...change, stored: await storedEmail(change.id) }),
    });
    await h.createActiveAccount(EMAIL);
    const login = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (login.kind !== 'ok') throw new Error(login.kind);
    const NEW = 'ada@new.example';
    // A thief's wrong password asks for nothing; the owner's request changes nothing yet.
    expect(await h.api.changeEmail(login.session.token, { password: OTHER_PASSWORD, newEmail: NEW })).toEqual({ kind: 'wrong' });
    expect(await h.api.changeEmail(login.session.token, { password: GOOD_PASSWORD, newEmail: NEW })).toEqual({ kind: 'pending' });
    expect(await h.api.changeEmail(login.session.token, { password: GOOD_PASSWORD, newEmail: 'not an address' })).toMatchObject({ kind: 'invalid' });
    expect(changes).toEqual([]);
    await h.later.settled();
    const confirm = tokenFromLink(h.mails.filter((m) => m.template === 'email-change').at(-1)?.link);
    expect(await h.api.confirmEmail({ token: 'x'.repeat(43) })).toEqual({ kind: 'invalid' });
    expect(changes).toEqual([]);
    expect((await h.post('/confirm-email', { token: confirm })).status).toBe(200);
    // The row held the new address when the host heard of it.
    expect(changes).toEqual([{ id: login.user.id, email: NEW, previousEmail: EMAIL, stored: NEW }]);
    expect(await h.api.confirmEmail({ token: confirm })).toEqual({ kind: 'invalid' });
    expect(changes).toHaveLength(1);

    await h.later.settled();
    const undo = tokenFromLink(h.mails.filter((m) => m.template === 'email-changed').at(-1)?.link);
    expect(await h.api.undoEmailChange({ token: undo })).toMatchObject({ kind: 'restored', oldEmail: EMAIL });
    expect(changes.at(-1)).toEqual({ id: login.user.id, email: EMAIL, previousEmail: NEW, stored: EMAIL });
    expect(await h.api.undoEmailChange({ token: undo })).toEqual({ kind: 'invalid' });
    expect(changes).toHaveLength(2);
  });
});

describe('a hook is awaited, and cannot undo or break the answer', () => {
  it('the answer waits for the hook, so the host is in step when the client hears success', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = false;
    const h = await createHarness({}, undefined, undefined, {
      onActivated: async () => {
        entered = true;
        await gate;
      },
    });
    const token = await h.registerAndGetToken(EMAIL);
    let answered = false;
    const pending = h.post('/activate', { token, password: GOOD_PASSWORD }).then((res) => ((answered = true), res));
    await until(() => (entered ? true : undefined), 'the hook to be called');
    // Polled a few times more: the answer is held while the hook has not finished.
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setTimeout(resolve, 0));
    expect(answered).toBe(false);
    release();
    expect((await pending).status).toBe(200);
  });

  it('a hook that throws or rejects: the answer stands, the account is changed, and hook_failed names the hook and nothing else', async () => {
    const secret = 'the host error message with ada@example.com';
    const h = await createHarness({}, undefined, undefined, {
      onActivated: () => {
        throw new Error(secret);
      },
      onPasswordChanged: async () => Promise.reject(new Error(secret)),
    });
    await h.createActiveAccount(EMAIL);
    const failed = h.events.filter((e) => e.event === 'hook_failed');
    expect(failed).toEqual([{ event: 'hook_failed', hook: 'onActivated', client: '192.0.2.1', path: '/activate' }]);
    const login = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (login.kind !== 'ok') throw new Error(login.kind);
    expect(await h.api.changePassword(login.session.token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).toEqual({ kind: 'changed', sessionsEnded: 0 });
    expect(h.events.filter((e) => e.event === 'hook_failed').at(-1)).toEqual({ event: 'hook_failed', hook: 'onPasswordChanged', client: 'api', via: 'api', call: 'changePassword' });
    expect((await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD })).status).toBe(200);
    expect(JSON.stringify(h.events)).not.toContain('host error');
  });
});

describe('a failing statement calls no hook', () => {
  /** Each change, set up, then run with its Nth statement failing; the request's own statements counted first. */
  const changes: Array<{ name: string; setup(h: Harness): Promise<string>; run(h: Harness, token: string): Promise<Response>; ok: number }> = [
    { name: 'activate', setup: (h) => h.registerAndGetToken(EMAIL), run: (h, token) => h.post('/activate', { token, password: GOOD_PASSWORD }), ok: 200 },
    {
      name: 'change-password',
      setup: async (h) => (await h.createActiveAccount(EMAIL), h.logIn(EMAIL)),
      run: (h, token) => h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      ok: 200,
    },
    {
      name: 'reset-password',
      setup: async (h) => (await h.createActiveAccount(EMAIL), h.forgotAndGetToken(EMAIL)),
      run: (h, token) => h.post('/reset-password', { token, password: OTHER_PASSWORD }),
      ok: 200,
    },
    {
      name: 'delete-account',
      setup: async (h) => (await h.createActiveAccount(EMAIL), h.logIn(EMAIL)),
      run: (h, token) => h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD }),
      ok: 204,
    },
  ];

  for (const change of changes) {
    it(`${change.name}: every statement failed in turn`, async () => {
      const counting = faultPlan();
      const dry = await recording({ wrap: faultyDatabase(counting) });
      const token = await change.setup(dry.h);
      dry.calls.length = 0;
      counting.armed = true;
      expect((await change.run(dry.h, token)).status).toBe(change.ok);
      counting.armed = false;
      expect(dry.calls).toHaveLength(1);
      // The hook's own read (reset) and the outbox's sends are counted too: failing those is after the commit.
      const total = counting.seen.length;
      expect(total).toBeGreaterThan(2);

      let refused = 0;
      for (let failAt = 1; failAt <= total; failAt++) {
        const plan = faultPlan();
        const { h, calls } = await recording({ wrap: faultyDatabase(plan) });
        const setupToken = await change.setup(h);
        calls.length = 0;
        plan.armed = true;
        plan.failAt = failAt;
        const res = await change.run(h, setupToken);
        plan.armed = false;
        const hookFailed = h.events.some((e) => e.event === 'hook_failed');
        if (res.status === 503) {
          refused++;
          // Nothing committed: no hook, and nothing to say about one.
          expect(calls, `${change.name} failing statement ${failAt}`).toEqual([]);
          expect(hookFailed).toBe(false);
        } else {
          // The change committed; the failure came after it (the hook's read, the mail's send).
          expect(res.status).toBe(change.ok);
          expect(calls.length + (hookFailed ? 1 : 0), `${change.name} failing statement ${failAt}: ${plan.seen[failAt - 1]}`).toBe(1);
        }
      }
      // The statements up to the commit's batch, at least, answered 503.
      expect(refused).toBeGreaterThan(1);
    });
  }
});
