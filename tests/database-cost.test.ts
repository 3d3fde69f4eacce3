/**
 * Issue 15 §3: what each flow costs the database, counted on both backends. On Workers every one of
 * these goes to the one D1 primary, which runs writes one at a time, so a flow that gains a write
 * or a round trip costs capacity (docs/scale.md). The counts are asserted exactly: a change that
 * adds a statement fails here and must update the table in docs/performance.md with it.
 *
 * - trips: calls to the database (each first/all/run is one, a whole batch is one)
 * - statements: SQL statements run
 * - writes: statements that may write (INSERT, UPDATE, DELETE): on D1 they all go to the primary
 * - rows: rows those statements changed
 * - commits: trips that changed at least one row (one fsynced journal line on Node)
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { counting, zero, type Cost } from '../scripts/support/database-cost.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from './support/harness.ts';
import { challengeFor, codeNow, STEP_MS, wrongCode } from './support/totp.ts';

interface Meter {
  h: Harness;
  /** What `act` cost the database, and its answer's status. */
  measure(act: () => Promise<Response>): Promise<Cost & { status: number }>;
}

async function meter(): Promise<Meter> {
  const cost = zero();
  const h = await createHarness({}, (db) => counting(db, cost));
  return {
    h,
    async measure(act) {
      Object.assign(cost, zero());
      h.later.hold = true;
      const res = await act();
      await res.arrayBuffer();
      // The flow's own trips; the courier's (a claim and a delete per mail, after the answer) are not its.
      const spent = { ...cost, status: res.status };
      h.later.hold = false;
      await h.later.settled();
      return spent;
    },
  };
}

const ACTIVE = 'active@example.com';
const PENDING = 'pending@example.com';

async function withAccounts(h: Harness) {
  await h.createActiveAccount(ACTIVE);
  return h.registerAndGetToken(PENDING);
}

const login = (h: Harness, email: string, password: string, device?: string) =>
  h.post('/login', { email, password }, device ? { [DEVICE_HEADER]: device } : {});

/**
 * The table in docs/performance.md ("What each flow costs the database"), row for row. The
 * per-client window rides in each flow's first batch: two statements (its state read and its hit),
 * one write and one row.
 */
const EXPECTED: Record<string, Cost & { status: number }> = {
  'register, new address': { status: 202, trips: 2, statements: 9, writes: 7, rows: 6, commits: 2 },
  'register, pending address': { status: 202, trips: 2, statements: 9, writes: 7, rows: 6, commits: 2 },
  'register, active address': { status: 202, trips: 2, statements: 9, writes: 7, rows: 5, commits: 2 },
  // The link pages and the links' POSTs: the first trip is the window's state, the link's read (an
  // activation link's with its address's account, in one statement) and the window's hit.
  'activation page, working link': { status: 200, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  // Then the guarded insert, the other links consumed and the link read again, in one batch.
  'activate, the registration\'s own password': { status: 200, trips: 2, statements: 6, writes: 3, rows: 3, commits: 2 },
  'activate, another password typed twice': { status: 200, trips: 2, statements: 6, writes: 3, rows: 3, commits: 2 },
  'activate, unknown token': { status: 400, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  'login, right password': { status: 200, trips: 2, statements: 12, writes: 9, rows: 5, commits: 2 },
  'login, wrong password': { status: 401, trips: 1, statements: 6, writes: 3, rows: 2, commits: 1 },
  'login, unknown address': { status: 401, trips: 1, statements: 6, writes: 3, rows: 2, commits: 1 },
  // The new token takes the presented one's row (one row, not a delete and an insert).
  'login, right password from a known device': { status: 200, trips: 2, statements: 11, writes: 8, rows: 4, commits: 2 },
  // The failure is counted for the address too, after the token's charge.
  'login, wrong password from a known device': { status: 401, trips: 2, statements: 7, writes: 4, rows: 3, commits: 2 },
  'GET /session': { status: 200, trips: 1, statements: 1, writes: 0, rows: 0, commits: 0 },
  'GET /session, an hour after the last write': { status: 200, trips: 2, statements: 2, writes: 1, rows: 1, commits: 1 },
  'GET /session, unknown token': { status: 401, trips: 1, statements: 1, writes: 0, rows: 0, commits: 0 },
  'GET /sessions': { status: 200, trips: 1, statements: 3, writes: 1, rows: 0, commits: 0 },
  'POST /logout': { status: 204, trips: 1, statements: 3, writes: 2, rows: 1, commits: 1 },
  'DELETE /sessions/{id}': { status: 204, trips: 1, statements: 3, writes: 2, rows: 1, commits: 1 },
  'GET /devices': { status: 200, trips: 1, statements: 3, writes: 1, rows: 0, commits: 0 },
  'DELETE /devices/{id}': { status: 204, trips: 1, statements: 3, writes: 2, rows: 1, commits: 1 },
  // The first trip: the client's window, the session, its own charge, the second factor's two reads
  // and the hourly slide. The batch also clears the session's own count, retires the account's reset
  // links and pending changes of address (none outstanding here), ends its device tokens (2: the meter ended one) and queues the notice.
  'change password, one other session': { status: 200, trips: 2, statements: 16, writes: 11, rows: 9, commits: 2 },
  // The first trip as above, then the failure counted for the address.
  'change password, wrong current password': { status: 401, trips: 2, statements: 9, writes: 4, rows: 3, commits: 2 },
  // Rows: the client's login window (change-password and delete-account count against it, as a login
  // does), then what this account had here (2 devices issued since the password change, 1 registration,
  // 1 throttle row: the session's own count, 6 sessions, itself), and the notice queued in the outbox.
  'delete account': { status: 204, trips: 2, statements: 19, writes: 14, rows: 13, commits: 2 },
  // The second factor (docs/second-factor.md). Setup: one batch of the client's window, the session,
  // the session's password-check charge, the TOTP row read and the slide; then the sealed secret's upsert.
  'TOTP setup': { status: 200, trips: 2, statements: 8, writes: 4, rows: 3, commits: 2 },
  // The window, the session and the pending secret in one batch; then the enabling batch.
  'TOTP enable': { status: 200, trips: 2, statements: 8, writes: 5, rows: 12, commits: 2 },
  // The same trips as a login without TOTP: one batch holds both outcomes, and only the challenge's insert applies.
  'login, right password, TOTP on': { status: 202, trips: 2, statements: 12, writes: 9, rows: 3, commits: 2 },
  // One batch: the client's window, the address's back-off (charged from a challenge's second code
  // on, guarded in SQL), the challenge's charge, its account with its authenticator and recovery digests.
  'login step 2, wrong code': { status: 401, trips: 1, statements: 7, writes: 3, rows: 2, commits: 1 },
  // The second code on its challenge (the first was wrong): that batch, then one more: the step
  // spent under a mark (set and taken away in it), the challenge used, the session, device token and cleared back-off.
  'login step 2, right code': { status: 200, trips: 2, statements: 16, writes: 12, rows: 10, commits: 2 },
  // The same statements as a wrong code's: the charge that finds nothing, and the reads all the same.
  'login step 2, used challenge': { status: 401, trips: 1, statements: 7, writes: 3, rows: 1, commits: 1 },
  'login step 2, unknown challenge': { status: 401, trips: 1, statements: 7, writes: 3, rows: 1, commits: 1 },
  'login step 2, expired challenge': { status: 401, trips: 1, statements: 7, writes: 3, rows: 1, commits: 1 },
  'login step 2, recovery code': { status: 200, trips: 2, statements: 16, writes: 12, rows: 9, commits: 2 },
  // The first trip as change-password's; the outcome batch spends the code under a mark set and
  // taken away in it (two of the rows), and counts a failure only if the code was spent already.
  'new recovery codes': { status: 200, trips: 2, statements: 15, writes: 10, rows: 25, commits: 2 },
  'TOTP off, two other sessions': { status: 200, trips: 2, statements: 17, writes: 12, rows: 22, commits: 2 },
  'resend, unknown address': { status: 202, trips: 2, statements: 11, writes: 8, rows: 5, commits: 2 },
  'resend, pending address': { status: 202, trips: 2, statements: 11, writes: 8, rows: 7, commits: 2 },
  'resend, active address': { status: 202, trips: 2, statements: 11, writes: 8, rows: 6, commits: 2 },
  'forgot, unknown address': { status: 202, trips: 2, statements: 12, writes: 9, rows: 5, commits: 2 },
  'forgot, pending address': { status: 202, trips: 2, statements: 12, writes: 9, rows: 7, commits: 2 },
  'forgot, active address': { status: 202, trips: 2, statements: 12, writes: 9, rows: 7, commits: 2 },
  'reset page, working link': { status: 200, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  // Two links outstanding (from the two forgot requests above): the reset retires both.
  'reset, new password': { status: 200, trips: 2, statements: 10, writes: 8, rows: 5, commits: 2 },
  // The first trip as change-password's, then one mail-allowance charge (three upserts, three trips
  // of its own) and one batch: the guarded insert and both guarded mails. The same statements for
  // every address; only the rows differ (a stored request and its link, or the notice alone).
  'change email, wrong password': { status: 401, trips: 2, statements: 9, writes: 4, rows: 3, commits: 2 },
  'change email, free address': { status: 202, trips: 2, statements: 14, writes: 9, rows: 7, commits: 2 },
  'change email, taken address': { status: 202, trips: 2, statements: 14, writes: 9, rows: 6, commits: 2 },
  'confirm-email page, working link': { status: 200, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  // One batch of seven guarded statements, the notice and the link read again: the address, the
  // request, 2 device tokens, the one other session, the notice (no other request, reset link or
  // registration outstanding).
  'confirm email': { status: 200, trips: 2, statements: 12, writes: 9, rows: 7, commits: 2 },
  'confirm email, used token': { status: 400, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  'undo page, working link': { status: 200, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  // One batch of eight guarded statements and the reset mail: the mark, the address, the asking
  // session (the last one live), the fresh reset link, the mail.
  'undo email change': { status: 200, trips: 2, statements: 12, writes: 10, rows: 6, commits: 2 },
  'undo email change, used token': { status: 400, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  'reset, refused password': { status: 422, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
  'reset, unknown or used token': { status: 400, trips: 1, statements: 3, writes: 1, rows: 1, commits: 1 },
};

/** The rows of EXPECTED that `seen` measured, so that one diff shows every flow that moved. */
const expected = (seen: object) => Object.fromEntries(Object.keys(seen).map((flow) => [flow, EXPECTED[flow]]));

describe(`what each flow costs the database (${backend.name})`, () => {
  it('register: new, pending and active addresses', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const seen = {
      'register, new address': await measure(() => h.post('/register', { email: 'new@example.com', password: OTHER_PASSWORD })),
      'register, pending address': await measure(() => h.post('/register', { email: PENDING, password: OTHER_PASSWORD })),
      'register, active address': await measure(() => h.post('/register', { email: ACTIVE, password: OTHER_PASSWORD })),
    };
    expect(seen).toEqual(expected(seen));
  });

  it('activate: the page, with the registration\'s own password, with another typed twice, with an unknown token', async () => {
    const { h, measure } = await meter();
    const own = await h.registerAndGetToken('own@example.com');
    const other = await h.registerAndGetToken('other@example.com');
    const seen = {
      'activation page, working link': await measure(() => h.get(`/activate?token=${own}`)),
      'activate, the registration\'s own password': await measure(() => h.post('/activate', { token: own, password: GOOD_PASSWORD })),
      'activate, another password typed twice': await measure(() =>
        h.post('/activate', { token: other, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }),
      ),
      'activate, unknown token': await measure(() => h.post('/activate', { token: 'A'.repeat(43), password: GOOD_PASSWORD })),
    };
    expect(seen).toEqual(expected(seen));
  });

  it('login: right, wrong, unknown, and from a known device', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const right = await measure(() => login(h, ACTIVE, GOOD_PASSWORD));
    const wrong = await measure(() => login(h, ACTIVE, OTHER_PASSWORD));
    const unknown = await measure(() => login(h, 'nobody@example.com', GOOD_PASSWORD));
    // A device token from a success, then a success and a failure that present one.
    const first = await login(h, ACTIVE, GOOD_PASSWORD);
    let token = ((await first.json()) as { device: { token: string } }).device.token;
    const knownRight = await measure(async () => {
      const res = await login(h, ACTIVE, GOOD_PASSWORD, token);
      token = ((await res.clone().json()) as { device: { token: string } }).device.token;
      return res;
    });
    const knownWrong = await measure(() => login(h, ACTIVE, OTHER_PASSWORD, token));
    const seen = {
      'login, right password': right,
      'login, wrong password': wrong,
      'login, unknown address': unknown,
      'login, right password from a known device': knownRight,
      'login, wrong password from a known device': knownWrong,
    };
    expect(seen).toEqual(expected(seen));
  });

  it('sessions: check, slide, list, logout, end one, change the password, delete the account', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const token = await h.logIn(ACTIVE);
    const other = await h.logIn(ACTIVE);
    const check = await measure(() => h.bearer('GET', '/session', token));
    h.clock.now += 3_600_000;
    const slide = await measure(() => h.bearer('GET', '/session', token));
    const unknown = await measure(() => h.bearer('GET', '/session', `${'A'.repeat(22)}.${'B'.repeat(43)}`));
    const list = await measure(() => h.bearer('GET', '/sessions', token));
    const endOne = await measure(() => h.bearer('DELETE', `/sessions/${other.split('.')[0]}`, token));
    const devices = await measure(() => h.bearer('GET', '/devices', token));
    const [device] = ((await (await h.bearer('GET', '/devices', token)).json()) as { devices: Array<{ id: string }> }).devices;
    const endDevice = await measure(() => h.bearer('DELETE', `/devices/${device!.id}`, token));
    await h.logIn(ACTIVE); // the other session that the change ends
    const wrong = await measure(() => h.bearer('POST', '/change-password', token, { currentPassword: OTHER_PASSWORD, newPassword: 'a new passphrase for the meter' }));
    const change = await measure(() => h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }));
    const logout = await measure(() => h.bearer('POST', '/logout', token));
    const last = await h.logIn(ACTIVE, OTHER_PASSWORD);
    const remove = await measure(() => h.bearer('POST', '/delete-account', last, { password: OTHER_PASSWORD }));
    const seen = {
      'GET /session': check,
      'GET /session, an hour after the last write': slide,
      'GET /session, unknown token': unknown,
      'GET /sessions': list,
      'DELETE /sessions/{id}': endOne,
      'GET /devices': devices,
      'DELETE /devices/{id}': endDevice,
      'change password, wrong current password': wrong,
      'change password, one other session': change,
      'POST /logout': logout,
      'delete account': remove,
    };
    expect(seen).toEqual(expected(seen));
  });

  it('the second factor: set up, enable, both login steps, a recovery code, new codes, off', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const session = await h.logIn(ACTIVE);
    let secret = '';
    const setup = await measure(async () => {
      const res = await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD });
      secret = ((await res.clone().json()) as { secret: string }).secret;
      return res;
    });
    let recoveryCodes: string[] = [];
    const enable = await measure(async () => {
      const res = await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret) });
      recoveryCodes = ((await res.clone().json()) as { recoveryCodes: string[] }).recoveryCodes;
      return res;
    });
    h.clock.now += STEP_MS;
    let challenge = '';
    const password = await measure(async () => {
      const res = await login(h, ACTIVE, GOOD_PASSWORD);
      challenge = ((await res.clone().json()) as { challenge: string }).challenge;
      return res;
    });
    const wrongCodeCost = await measure(() => h.post('/login/mfa', { challenge, code: wrongCode(h, secret) }));
    const rightCode = await measure(() => h.post('/login/mfa', { challenge, code: codeNow(h, secret) }));
    const unknown = await measure(() => h.post('/login/mfa', { challenge, code: codeNow(h, secret, 1) }));
    const unknownChallenge = await measure(() => h.post('/login/mfa', { challenge: `${'a'.repeat(22)}.${'b'.repeat(43)}`, code: codeNow(h, secret, 1) }));
    const late = await challengeFor(h, ACTIVE);
    h.clock.now += 300_000;
    const expired = await measure(() => h.post('/login/mfa', { challenge: late, code: codeNow(h, secret) }));
    const next = await challengeFor(h, ACTIVE);
    const recovery = await measure(() => h.post('/login/mfa', { challenge: next, recoveryCode: recoveryCodes[0] }));
    h.clock.now += STEP_MS;
    const replace = await measure(() => h.bearer('POST', '/mfa/recovery-codes', session, { password: GOOD_PASSWORD, code: codeNow(h, secret) }));
    h.clock.now += STEP_MS;
    const off = await measure(() => h.bearer('POST', '/mfa/totp/disable', session, { password: GOOD_PASSWORD, code: codeNow(h, secret) }));
    const seen = {
      'TOTP setup': setup,
      'TOTP enable': enable,
      'login, right password, TOTP on': password,
      'login step 2, wrong code': wrongCodeCost,
      'login step 2, right code': rightCode,
      'login step 2, used challenge': unknown,
      'login step 2, unknown challenge': unknownChallenge,
      'login step 2, expired challenge': expired,
      'login step 2, recovery code': recovery,
      'new recovery codes': replace,
      'TOTP off, two other sessions': off,
    };
    expect(seen).toEqual(expected(seen));
    // A dead challenge of any kind costs what a live one's wrong first code does (the timing story of issue 26).
    const work = ({ trips, statements, writes }: Cost) => ({ trips, statements, writes });
    for (const dead of [unknown, unknownChallenge, expired]) expect(work(dead)).toEqual(work(wrongCodeCost));
  });

  it('resend: unknown, pending and active addresses', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const seen = {
      'resend, unknown address': await measure(() => h.post('/resend-activation', { email: 'nobody@example.com' })),
      'resend, pending address': await measure(() => h.post('/resend-activation', { email: PENDING })),
      'resend, active address': await measure(() => h.post('/resend-activation', { email: ACTIVE })),
    };
    expect(seen).toEqual(expected(seen));
  });

  it('forgot and reset: unknown, pending and active addresses; the page; a new, a refused and an unknown password or token', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const forgot = {
      'forgot, unknown address': await measure(() => h.post('/forgot-password', { email: 'nobody@example.com' })),
      'forgot, pending address': await measure(() => h.post('/forgot-password', { email: PENDING })),
      'forgot, active address': await measure(() => h.post('/forgot-password', { email: ACTIVE })),
    };
    const token = await h.forgotAndGetToken(ACTIVE);
    const seen = {
      ...forgot,
      'reset page, working link': await measure(() => h.get(`/reset-password?token=${token}`)),
      'reset, refused password': await measure(() => h.post('/reset-password', { token, password: 'short' })),
      'reset, new password': await measure(() => h.post('/reset-password', { token, password: OTHER_PASSWORD })),
      'reset, unknown or used token': await measure(() => h.post('/reset-password', { token, password: OTHER_PASSWORD })),
    };
    expect(seen).toEqual(expected(seen));
  });

  it('change of address: asked for a free and a taken address, with a wrong password; the pages, the confirmation and the undo, used links', async () => {
    const { h, measure } = await meter();
    await withAccounts(h);
    const token = await h.logIn(ACTIVE);
    await h.logIn(ACTIVE); // the other session that the confirmation ends
    const ask = (newEmail: string, password = GOOD_PASSWORD) => h.bearer('POST', '/change-email', token, { password, newEmail });
    const linkOf = (template: string) => new URL(h.mails.filter((m) => m.template === template).at(-1)!.link!).searchParams.get('token')!;
    const seen: Record<string, Cost & { status: number }> = {
      'change email, wrong password': await measure(() => ask('moved@example.com', OTHER_PASSWORD)),
      'change email, taken address': await measure(() => ask(ACTIVE)),
      'change email, free address': await measure(() => ask('moved@example.com')),
    };
    const confirm = linkOf('email-change');
    seen['confirm-email page, working link'] = await measure(() => h.get(`/confirm-email?token=${confirm}`));
    seen['confirm email'] = await measure(() => h.post('/confirm-email', { token: confirm }));
    seen['confirm email, used token'] = await measure(() => h.post('/confirm-email', { token: confirm }));
    const undo = linkOf('email-changed');
    seen['undo page, working link'] = await measure(() => h.get(`/undo-email-change?token=${undo}`));
    seen['undo email change'] = await measure(() => h.post('/undo-email-change', { token: undo }));
    seen['undo email change, used token'] = await measure(() => h.post('/undo-email-change', { token: undo }));
    expect(seen).toEqual(expected(seen));
  });

  it('the counter sees what it claims to: a batch of two inserts is one trip, two statements, two rows', async () => {
    // Guards the meter itself, so that a table of zeros could not pass for a measurement.
    const cost = zero();
    const db = counting(await backend.freshDatabase(), cost);
    await db.batch([
      db.prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, 0)').bind('a'),
      db.prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, 0)').bind('b'),
    ]);
    expect(cost).toEqual({ trips: 1, statements: 2, writes: 2, rows: 2, commits: 1 });
    await db.prepare('DELETE FROM throttle WHERE key = ?').bind('nothing').run();
    await db.prepare('SELECT hits FROM throttle WHERE key = ?').bind('a').first();
    const updated = await db.prepare('UPDATE throttle SET hits = hits + 1 RETURNING hits').first<{ hits: number }>();
    expect(updated?.hits).toBe(2);
    expect(cost).toEqual({ trips: 4, statements: 5, writes: 4, rows: 4, commits: 2 });
  });
});
