// latchkey.api (functions/api.ts): the flows without HTTP. The whole story through it alone, its
// outcomes against the HTTP answers for the same inputs (and the same statements run), the same
// schema refusals, the per-client allowances, and a guesser who uses the api instead of the login
// route and meets the same back-off.
import { describe, expect, it } from 'vitest';
import { API_CLIENT } from '../functions/api.ts';
import { LatchkeyUnavailableError } from '../functions/latchkey.ts';
import { faultPlan, faultyDatabase, type FaultPlan } from './support/faults.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';
import { codeNow, enrol, wrongCode } from './support/totp.ts';

const EMAIL = 'ada@example.com';

/** The link's token of the newest mail of this template, once the api call's mail has been sent. */
async function mailedToken(h: Harness, template: string): Promise<string> {
  await h.later.settled();
  return tokenFromLink(h.mails.filter((m) => m.template === template).at(-1)?.link);
}

/** Problem body's `errors`, from a 422. */
async function errorsOf(res: Response): Promise<unknown> {
  expect(res.status).toBe(422);
  return ((await res.json()) as { errors: unknown }).errors;
}

describe('the api, the whole story', () => {
  it('register, the mailed link, activate, login, verifySession, changePassword, logout, then no session', async () => {
    const h = await createHarness();
    expect(await h.api.register({ email: EMAIL, password: GOOD_PASSWORD })).toEqual({ kind: 'accepted' });
    // The mail went through the outbox and the courier, as a request's does: the link is the public one.
    const token = await mailedToken(h, 'activation');
    expect(h.mails.at(-1)?.to).toBe(EMAIL);
    expect(h.mails.at(-1)?.link).toMatch(/^https:\/\/accounts\.example\.test\/activate\?token=/);

    const activated = await h.api.activate({ token, password: GOOD_PASSWORD });
    expect(activated).toMatchObject({ kind: 'activated', email: EMAIL });
    expect(await h.api.activate({ token, password: GOOD_PASSWORD })).toMatchObject({ kind: 'active' });

    const login = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (login.kind !== 'ok') throw new Error(`login: ${login.kind}`);
    expect(Object.keys(login.user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
    expect(JSON.stringify(login)).not.toContain('scrypt');
    const session = login.session.token;

    const verified = await h.api.verifySession(session);
    expect(verified?.user).toEqual(login.user);
    // The same body GET /session gives.
    expect(verified).toEqual(await (await h.bearer('GET', '/session', session)).json());

    const changed = await h.api.changePassword(session, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD });
    expect(changed).toEqual({ kind: 'changed', sessionsEnded: 0 });
    await h.later.settled();
    expect(h.mails.at(-1)?.template).toBe('password-changed');
    expect((await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD })).status).toBe(200);

    expect(await h.api.logout(session)).toEqual({ kind: 'ended' });
    expect(await h.api.verifySession(session)).toBeNull();
    expect(await h.api.logout(session)).toEqual({ kind: 'unauthenticated' });
    expect((await h.bearer('GET', '/session', session)).status).toBe(401);
  });

  it('forgot, reset, list and end sessions, delete the account', async () => {
    const h = await createHarness();
    await h.createActiveAccount(EMAIL);
    expect(await h.api.forgotPassword({ email: EMAIL })).toEqual({ kind: 'accepted' });
    const reset = await mailedToken(h, 'password-reset');
    expect(await h.api.resetPassword({ token: reset, password: OTHER_PASSWORD })).toMatchObject({ kind: 'changed', email: EMAIL });
    expect(await h.api.resetPassword({ token: reset, password: OTHER_PASSWORD })).toEqual({ kind: 'invalid' });

    const first = await h.api.login({ email: EMAIL, password: OTHER_PASSWORD }, { client: '198.51.100.7' });
    const second = await h.api.login({ email: EMAIL, password: OTHER_PASSWORD });
    if (first.kind !== 'ok' || second.kind !== 'ok') throw new Error('login');
    const listed = await h.api.listSessions(second.session.token);
    if (listed.kind !== 'listed') throw new Error(listed.kind);
    // Each session keeps the client it was opened from: the caller's, or the api's own name.
    expect(listed.sessions.map((s) => s.client).sort()).toEqual(['198.51.100.7', API_CLIENT]);
    const other = listed.sessions.find((s) => s.id !== listed.currentId)!;
    expect(await h.api.endSession(second.session.token, other.id)).toEqual({ kind: 'ended' });
    expect(await h.api.verifySession(first.session.token)).toBeNull();
    expect(await h.api.endSession(second.session.token, 'x'.repeat(65))).toMatchObject({ kind: 'invalid', errors: [{ pointer: '/id' }] });

    expect(await h.api.deleteAccount(second.session.token, { password: GOOD_PASSWORD })).toEqual({ kind: 'wrong' });
    expect(await h.api.deleteAccount(second.session.token, { password: OTHER_PASSWORD })).toEqual({ kind: 'deleted' });
    await h.later.settled();
    expect(h.mails.at(-1)?.template).toBe('account-deleted');
    expect(await h.api.verifySession(second.session.token)).toBeNull();
    expect(await h.api.resendActivation({ email: EMAIL })).toEqual({ kind: 'accepted' });
  });
});

describe('the api with a second factor', () => {
  it('login asks for the code, loginSecondFactor trades it for a session, and the changes that ask for a code ask for it here too', async () => {
    const h = await createHarness();
    const { secret, recoveryCodes } = await enrol(h, EMAIL);
    const first = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (first.kind !== 'mfa_required') throw new Error(`login: ${first.kind}`);
    expect(Object.keys(first)).toEqual(['kind', 'challenge']);
    const challenge = first.challenge.token;
    expect(await h.api.loginSecondFactor({ challenge, code: wrongCode(h, secret) })).toEqual({ kind: 'wrong' });
    expect(await h.api.loginSecondFactor({ challenge } as never)).toMatchObject({ kind: 'invalid' });
    const done = await h.api.loginSecondFactor({ challenge, code: codeNow(h, secret) });
    if (done.kind !== 'ok') throw new Error(`second factor: ${done.kind}`);
    expect(Object.keys(done.user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
    expect((await h.api.verifySession(done.session.token))?.session).toMatchObject({ mfa: true });
    // A used challenge is dead; a recovery code on a fresh one works.
    expect(await h.api.loginSecondFactor({ challenge, code: codeNow(h, secret, 1) })).toEqual({ kind: 'wrong' });
    const second = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (second.kind !== 'mfa_required') throw new Error(second.kind);
    expect((await h.api.loginSecondFactor({ challenge: second.challenge.token, recoveryCode: recoveryCodes[0]! })).kind).toBe('ok');

    const session = done.session.token;
    expect(await h.api.changePassword(session, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD })).toEqual({ kind: 'wrong-code' });
    expect(await h.api.changeEmail(session, { password: GOOD_PASSWORD, newEmail: 'ada@new.example' })).toEqual({ kind: 'wrong-code' });
    expect(await h.api.deleteAccount(session, { password: GOOD_PASSWORD })).toEqual({ kind: 'wrong-code' });
    expect(await h.api.changeEmail(session, { password: GOOD_PASSWORD, newEmail: 'ada@new.example', code: recoveryCodes[1]! })).toEqual({ kind: 'pending' });
  });
});

describe('the api answers as HTTP does', () => {
  /** The statements a call runs itself, as the database sees them: the mail it queued is sent after, uncounted. */
  async function statementsOf(h: Harness, plan: FaultPlan, call: () => Promise<unknown>): Promise<string[]> {
    h.later.hold = true;
    plan.seen = [];
    plan.armed = true;
    try {
      await call();
    } finally {
      plan.armed = false;
      h.later.hold = false;
      await h.later.settled();
    }
    return plan.seen;
  }

  it('register of a taken address: the same outcome and the same statements as for a new one, and as POST /register', async () => {
    const plan = faultPlan();
    const h = await createHarness({}, faultyDatabase(plan));
    await h.createActiveAccount('taken@example.com');
    const takenApi = await statementsOf(h, plan, () => h.api.register({ email: 'taken@example.com', password: OTHER_PASSWORD }));
    const freshApi = await statementsOf(h, plan, () => h.api.register({ email: 'fresh@example.com', password: OTHER_PASSWORD }));
    expect(takenApi).toEqual(freshApi);
    const overHttp = await statementsOf(h, plan, () => h.post('/register', { email: 'other@example.com', password: OTHER_PASSWORD }));
    expect(takenApi).toEqual(overHttp);
    expect(await h.api.register({ email: 'taken@example.com', password: OTHER_PASSWORD })).toEqual(await h.api.register({ email: 'new@example.com', password: OTHER_PASSWORD }));
  });

  it('login: unknown, wrong and pending are one outcome after the same statements, as POST /login answers one 401', async () => {
    const plan = faultPlan();
    const h = await createHarness({}, faultyDatabase(plan));
    await h.createActiveAccount(EMAIL);
    await h.registerAndGetToken('pending@example.com');
    const tries = [
      { email: 'nobody@example.com', password: GOOD_PASSWORD },
      { email: EMAIL, password: OTHER_PASSWORD },
      { email: 'pending@example.com', password: GOOD_PASSWORD },
    ];
    const outcomes = [];
    const statements = [];
    for (const input of tries) {
      let outcome: unknown;
      statements.push(await statementsOf(h, plan, async () => void (outcome = await h.api.login(input))));
      outcomes.push(outcome);
    }
    expect(outcomes).toEqual([{ kind: 'wrong' }, { kind: 'wrong' }, { kind: 'wrong' }]);
    expect(new Set(statements.map((s) => JSON.stringify(s))).size).toBe(1);
    const overHttp = await statementsOf(h, plan, () => h.post('/login', { email: 'someone@example.com', password: GOOD_PASSWORD }));
    expect(statements[0]).toEqual(overHttp);
  });

  it('refuses bad input with the 422 errors of the same body, and never throws for it', async () => {
    const h = await createHarness();
    const bodies = [
      { email: 'not an address', password: 'short' },
      { email: EMAIL, password: GOOD_PASSWORD, pasword: 'typo' },
      { email: 'a\u0000@example.com', password: GOOD_PASSWORD },
      { email: 42, password: null },
    ];
    for (const body of bodies) {
      // A JavaScript caller can pass anything: the api is typed, its callers need not be.
      const outcome = await h.api.register(body as never);
      expect(outcome).toEqual({ kind: 'invalid', errors: await errorsOf(await h.post('/register', body)) });
    }
    expect(await h.api.login(null as never)).toEqual({ kind: 'invalid', errors: await errorsOf(await h.post('/login', 'null')) });
    const login = await h.api.login({ email: 'x'.repeat(2000), password: GOOD_PASSWORD });
    expect(login).toEqual({ kind: 'invalid', errors: await errorsOf(await h.post('/login', { email: 'x'.repeat(2000), password: GOOD_PASSWORD })) });
    const activate = await h.api.activate({ token: 'x'.repeat(200), password: '' });
    expect(activate).toEqual({ kind: 'invalid', errors: await errorsOf(await h.post('/activate', { token: 'x'.repeat(200), password: '' })) });
    await h.createActiveAccount(EMAIL);
    const session = await h.logIn(EMAIL);
    const change = { currentPassword: GOOD_PASSWORD, newPassword: 'short' };
    expect(await h.api.changePassword(session, change)).toEqual({ kind: 'invalid', errors: await errorsOf(await h.bearer('POST', '/change-password', session, change)) });
    expect(await h.api.deleteAccount(session, {} as never)).toEqual({ kind: 'invalid', errors: await errorsOf(await h.bearer('POST', '/delete-account', session, {})) });
    expect(await h.api.changePassword('not-a-token', change)).toEqual({ kind: 'unauthenticated' });
  });

  it('an outage throws LatchkeyUnavailableError, logged as over HTTP, never read as a wrong password', async () => {
    const plan = faultPlan();
    const h = await createHarness({}, faultyDatabase(plan));
    await h.createActiveAccount(EMAIL);
    plan.armed = true;
    plan.failAt = 3;
    await expect(h.api.login({ email: EMAIL, password: GOOD_PASSWORD })).rejects.toBeInstanceOf(LatchkeyUnavailableError);
    plan.armed = false;
    expect(h.events.at(-1)).toMatchObject({ event: 'database_unavailable', via: 'api', call: 'login', client: API_CLIENT });
  });
});

describe('the per-client allowances hold for api calls', () => {
  it('api calls without a client share one allowance, apart from HTTP clients', async () => {
    const h = await createHarness({ LIMIT_REGISTER_PER_CLIENT: '2/600' });
    const register = (n: number) => h.api.register({ email: `u${n}@example.com`, password: GOOD_PASSWORD });
    expect((await register(1)).kind).toBe('accepted');
    expect((await register(2)).kind).toBe('accepted');
    expect(await register(3)).toEqual({ kind: 'throttled', retryAfterSeconds: expect.any(Number) });
    expect(h.events.at(-1)).toMatchObject({ event: 'throttled', rule: 'client', client: API_CLIENT, via: 'api', call: 'register' });
    // A request from a real address is another client.
    expect((await h.post('/register', { email: 'u4@example.com', password: GOOD_PASSWORD })).status).toBe(202);
  });

  it("a call naming the person's address shares that address's allowance with its HTTP requests, a /64 as one", async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '2/600' });
    h.client.address = '2001:db8:1:2::1';
    expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(401);
    expect((await h.api.login({ email: EMAIL, password: GOOD_PASSWORD }, { client: '2001:db8:1:2::99' })).kind).toBe('wrong');
    expect((await h.api.login({ email: EMAIL, password: GOOD_PASSWORD }, { client: '2001:db8:1:2::1' })).kind).toBe('throttled');
    expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(429);
    // Another address, and the api's own client, still have theirs.
    expect((await h.api.login({ email: EMAIL, password: GOOD_PASSWORD }, { client: '203.0.113.9' })).kind).toBe('wrong');
    expect((await h.api.login({ email: EMAIL, password: GOOD_PASSWORD })).kind).toBe('wrong');
  });

  it('change-password and delete-account count in the login allowance, as their routes do', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '3/600' });
    await h.createActiveAccount(EMAIL);
    const login = await h.api.login({ email: EMAIL, password: GOOD_PASSWORD });
    if (login.kind !== 'ok') throw new Error(login.kind);
    const token = login.session.token;
    expect((await h.api.changePassword(token, { currentPassword: OTHER_PASSWORD, newPassword: OTHER_PASSWORD })).kind).toBe('wrong');
    expect((await h.api.deleteAccount(token, { password: OTHER_PASSWORD })).kind).toBe('wrong');
    expect((await h.api.deleteAccount(token, { password: GOOD_PASSWORD })).kind).toBe('throttled');
    expect(await h.api.verifySession(token)).not.toBeNull();
  });
});

describe('attack: guessing through the api instead of the login route', () => {
  /** Wrong guesses at one address, each the moment the last back-off ends: what each attempt met. */
  async function guesses(h: Harness, attempt: () => Promise<string>, count: number): Promise<string[]> {
    const seen: string[] = [];
    for (let i = 0; i < count; i++) {
      const met = await attempt();
      seen.push(met);
      const wait = /throttled (\d+)/.exec(met);
      if (wait) h.clock.now += Number(wait[1]) * 1000;
    }
    return seen;
  }

  it('meets the same back-off as HTTP, counted on the same address, and the right password then waits too', async () => {
    const overHttp = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await overHttp.createActiveAccount(EMAIL);
    const http = await guesses(
      overHttp,
      async () => {
        const res = await overHttp.post('/login', { email: EMAIL, password: OTHER_PASSWORD });
        return res.status === 429 ? `throttled ${res.headers.get('retry-after')}` : String(res.status);
      },
      14,
    );

    const viaApi = await createHarness({ LIMIT_LOGIN_PER_CLIENT: 'off' });
    await viaApi.createActiveAccount(EMAIL);
    // A different client address on each call cannot help: the back-off is the address's.
    let n = 0;
    const api = await guesses(
      viaApi,
      async () => {
        const outcome = await viaApi.api.login({ email: EMAIL, password: OTHER_PASSWORD }, { client: `198.51.100.${++n}` });
        return outcome.kind === 'throttled' ? `throttled ${outcome.retryAfterSeconds}` : outcome.kind === 'wrong' ? '401' : outcome.kind;
      },
      14,
    );
    expect(http.filter((m) => m.startsWith('throttled')).length).toBeGreaterThan(3);
    expect(api).toEqual(http);

    // Armed by api guesses, the back-off holds the login page too, for the owner's right password.
    await viaApi.api.login({ email: EMAIL, password: OTHER_PASSWORD });
    const res = await viaApi.post('/login', { email: EMAIL, password: GOOD_PASSWORD });
    expect(res.status).toBe(429);
  });
});
