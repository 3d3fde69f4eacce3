// Every statement of every endpoint's flow, failed in turn through the Database interface: the
// request answers 503 problem+json with Retry-After (never a 500, never a stack trace), the
// database is exactly as before, no mail went out for a write that did not happen, and the same
// request succeeds once the database is back.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { createPasswordHasher } from '../lib/crypto/passwords.ts';
import { faultPlan, faultyDatabase } from './support/faults.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from './support/harness.ts';
import { challengeFor, codeNow, enrol, STEP_MS } from './support/totp.ts';

interface Flow {
  name: string;
  /** Brings the database to the state the request meets; returns what the request needs. */
  setup(h: Harness): Promise<string | void>;
  request(h: Harness, token: string | void): Promise<Response>;
  ok: number;
  /**
   * Whether the flow writes with run() or batch() (a check that the enumeration reaches the writes).
   * Every request behind a per-client allowance does: the window's hit rides in a batch, with the
   * flow's first statements or alone (lib/http/limit-per-client.ts).
   */
  writes: boolean;
  /** A person's browser made the request: the 503 is an HTML page rather than problem+json. */
  page?: boolean;
}

const EMAIL = 'ada@example.com';
const json = (h: Harness, path: string, body: unknown) => h.post(path, body);

/** An active account that logged in once: the device token that login handed out. */
async function knownDevice(h: Harness): Promise<string> {
  await h.createActiveAccount(EMAIL);
  const res = await json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD });
  return ((await res.json()) as { device: { token: string } }).device.token;
}
/** An active account with a reset link: the link's token. */
async function resetLink(h: Harness): Promise<string> {
  await h.createActiveAccount(EMAIL);
  return h.forgotAndGetToken(EMAIL);
}
/** An active account with a live session: its token. */
async function loggedIn(h: Harness): Promise<string> {
  await h.createActiveAccount(EMAIL);
  return h.logIn(EMAIL);
}
async function endedSession(h: Harness): Promise<string> {
  const token = await loggedIn(h);
  await h.bearer('POST', '/logout', token);
  return token;
}
/** An account with TOTP on, enrolled through the API: its session and secret, and for the second step a challenge. */
async function withTotp(h: Harness, challenge = false): Promise<string> {
  const { session, secret } = await enrol(h, EMAIL);
  return JSON.stringify({ session, secret, challenge: challenge ? await challengeFor(h, EMAIL) : '' });
}
/** An account with a secret set up, not yet on. */
async function pendingTotp(h: Harness): Promise<string> {
  const session = await loggedIn(h);
  const { secret } = (await (await h.bearer('POST', '/mfa/totp/setup', session, { password: GOOD_PASSWORD })).json()) as { secret: string };
  return JSON.stringify({ session, secret, challenge: '' });
}
const totpParts = (token: string | void) => JSON.parse(token ?? '{}') as { session: string; secret: string; challenge: string };
/** The code of a new step for each try: a code accepted by a try whose write then failed stays spent. */
function nextCode(h: Harness, secret: string): string {
  h.clock.now += STEP_MS;
  return codeNow(h, secret);
}
const fromDevice = (h: Harness, token: string | void, password: string) => h.post('/login', { email: EMAIL, password }, { [DEVICE_HEADER]: token ?? '' });

const flows: Flow[] = [
  { name: 'register a new address', setup: async () => {}, request: (h) => json(h, '/register', { email: EMAIL, password: GOOD_PASSWORD }), ok: 202, writes: true },
  { name: 'register a pending address', setup: async (h) => void (await h.registerAndGetToken(EMAIL)), request: (h) => json(h, '/register', { email: EMAIL, password: OTHER_PASSWORD }), ok: 202, writes: true },
  { name: 'register an active address', setup: (h) => h.createActiveAccount(EMAIL), request: (h) => json(h, '/register', { email: EMAIL, password: OTHER_PASSWORD }), ok: 202, writes: true },
  { name: 'activate (JSON)', setup: (h) => h.registerAndGetToken(EMAIL), request: (h, token) => json(h, '/activate', { token, password: GOOD_PASSWORD }), ok: 200, writes: true },
  {
    name: 'activate with a password that is not the registration\'s own, typed twice',
    setup: (h) => h.registerAndGetToken(EMAIL),
    request: (h, token) => json(h, '/activate', { token, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }),
    ok: 200,
    writes: true,
  },
  {
    name: 'activate (the page form), one of two links',
    setup: async (h) => {
      await h.registerAndGetToken(EMAIL, OTHER_PASSWORD);
      return h.registerAndGetToken(EMAIL);
    },
    request: (h, token) => h.post('/activate', new URLSearchParams({ token: token as string, password: GOOD_PASSWORD }).toString(), { 'Content-Type': 'application/x-www-form-urlencoded' }),
    ok: 200,
    writes: true,
    page: true,
  },
  {
    name: 'activate a link a second time',
    setup: async (h) => {
      const token = await h.registerAndGetToken(EMAIL);
      await h.post('/activate', { token, password: GOOD_PASSWORD });
      return token;
    },
    request: (h, token) => json(h, '/activate', { token, password: GOOD_PASSWORD }),
    ok: 200,
    writes: true,
  },
  { name: 'GET the activation page', setup: (h) => h.registerAndGetToken(EMAIL), request: (h, token) => h.get(`/activate?token=${token}`), ok: 200, writes: true, page: true },
  { name: 'login', setup: (h) => h.createActiveAccount(EMAIL), request: (h) => json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD }), ok: 200, writes: true },
  {
    name: 'login that rehashes',
    setup: async (h) => {
      await h.createActiveAccount(EMAIL);
      // The configured parameters went up since the account's hash was made.
      h.deps.hasher = createPasswordHasher({ logN: 5, r: 8, p: 1 });
    },
    request: (h) => json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD }),
    ok: 200,
    writes: true,
  },
  { name: 'login from a known device', setup: knownDevice, request: (h, token) => fromDevice(h, token, GOOD_PASSWORD), ok: 200, writes: true },
  { name: 'login from a known device with a wrong password', setup: knownDevice, request: (h, token) => fromDevice(h, token, OTHER_PASSWORD), ok: 401, writes: true }, // the failure counted for the address
  {
    name: 'login from a known device while the address backs off',
    setup: async (h) => {
      const token = await knownDevice(h);
      for (let i = 0; i < 7; i++) await json(h, '/login', { email: EMAIL, password: OTHER_PASSWORD });
      return token;
    },
    request: (h, token) => fromDevice(h, token, GOOD_PASSWORD),
    ok: 200,
    writes: true,
  },
  { name: 'login with a wrong password', setup: (h) => h.createActiveAccount(EMAIL), request: (h) => json(h, '/login', { email: EMAIL, password: OTHER_PASSWORD }), ok: 401, writes: true },
  { name: 'login before activation', setup: async (h) => void (await h.registerAndGetToken(EMAIL)), request: (h) => json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD }), ok: 401, writes: true },
  { name: 'login of an unknown address', setup: async () => {}, request: (h) => json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD }), ok: 401, writes: true },
  { name: 'resend for a pending address', setup: async (h) => void (await h.registerAndGetToken(EMAIL)), request: (h) => json(h, '/resend-activation', { email: EMAIL }), ok: 202, writes: true },
  { name: 'resend for an active address', setup: (h) => h.createActiveAccount(EMAIL), request: (h) => json(h, '/resend-activation', { email: EMAIL }), ok: 202, writes: true },
  { name: 'resend for an unknown address', setup: async () => {}, request: (h) => json(h, '/resend-activation', { email: EMAIL }), ok: 202, writes: true },
  { name: 'forgot-password for an active address', setup: (h) => h.createActiveAccount(EMAIL), request: (h) => json(h, '/forgot-password', { email: EMAIL }), ok: 202, writes: true },
  { name: 'forgot-password for a pending address', setup: async (h) => void (await h.registerAndGetToken(EMAIL)), request: (h) => json(h, '/forgot-password', { email: EMAIL }), ok: 202, writes: true },
  { name: 'forgot-password for an unknown address', setup: async () => {}, request: (h) => json(h, '/forgot-password', { email: EMAIL }), ok: 202, writes: true },
  { name: 'GET the reset page', setup: resetLink, request: (h, token) => h.get(`/reset-password?token=${token}`), ok: 200, writes: true, page: true },
  { name: 'reset the password (JSON)', setup: resetLink, request: (h, token) => json(h, '/reset-password', { token, password: OTHER_PASSWORD }), ok: 200, writes: true },
  {
    name: 'reset the password (the page form), one of two links, after failed logins',
    setup: async (h) => {
      const token = await resetLink(h);
      await h.forgotAndGetToken(EMAIL);
      for (let i = 0; i < 3; i++) await json(h, '/login', { email: EMAIL, password: 'not the password at all' });
      return token;
    },
    request: (h, token) =>
      h.post('/reset-password', new URLSearchParams({ token: token as string, password: OTHER_PASSWORD, confirmPassword: OTHER_PASSWORD }).toString(), {
        'Content-Type': 'application/x-www-form-urlencoded',
      }),
    ok: 200,
    writes: true,
    page: true,
  },
  { name: 'reset with a password the policy refuses', setup: resetLink, request: (h, token) => json(h, '/reset-password', { token, password: 'short' }), ok: 422, writes: true },
  { name: 'health', setup: async () => {}, request: (h) => h.get('/health'), ok: 200, writes: false },
  { name: 'GET /session', setup: loggedIn, request: (h, token) => h.bearer('GET', '/session', token ?? ''), ok: 200, writes: false },
  {
    name: 'GET /session that slides the expiry',
    setup: async (h) => {
      const token = await loggedIn(h);
      h.clock.now += 3_600_000;
      return token;
    },
    request: (h, token) => h.bearer('GET', '/session', token ?? ''),
    ok: 200,
    writes: true,
  },
  { name: 'GET /session with an ended token', setup: endedSession, request: (h, token) => h.bearer('GET', '/session', token ?? ''), ok: 401, writes: false },
  { name: 'POST /logout', setup: loggedIn, request: (h, token) => h.bearer('POST', '/logout', token ?? ''), ok: 204, writes: true },
  { name: 'GET /sessions', setup: loggedIn, request: (h, token) => h.bearer('GET', '/sessions', token ?? ''), ok: 200, writes: true },
  {
    name: 'DELETE /sessions/{id}',
    setup: async (h) => {
      const token = await loggedIn(h);
      return `${token} ${(await h.logIn(EMAIL)).split('.')[0]}`;
    },
    request: (h, pair) => {
      const [token, id] = (pair ?? '').split(' ');
      return h.bearer('DELETE', `/sessions/${id}`, token);
    },
    ok: 204,
    writes: true,
  },
  {
    name: 'POST /change-password',
    setup: async (h) => {
      const token = await loggedIn(h);
      await h.logIn(EMAIL); // another session, to end
      return token;
    },
    request: (h, token) => h.bearer('POST', '/change-password', token ?? '', { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
    ok: 200,
    writes: true,
  },
  {
    name: 'POST /change-password with a wrong current password',
    setup: loggedIn,
    request: (h, token) => h.bearer('POST', '/change-password', token ?? '', { currentPassword: OTHER_PASSWORD, newPassword: OTHER_PASSWORD }),
    ok: 401,
    writes: true, // the failure counted for the address
  },
  {
    name: 'POST /delete-account',
    setup: async (h) => {
      await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD }); // a throttle row for the address
      return loggedIn(h);
    },
    request: (h, token) => h.bearer('POST', '/delete-account', token ?? '', { password: GOOD_PASSWORD }),
    ok: 204,
    writes: true,
  },
  { name: 'POST /change-email to a free address', setup: loggedIn, request: (h, token) => changeEmail(h, token, 'ada@new.example'), ok: 202, writes: true },
  { name: 'POST /change-email to a taken address', setup: loggedInBesideAnother, request: (h, token) => changeEmail(h, token, 'other@example.com'), ok: 202, writes: true },
  { name: 'POST /confirm-email (JSON)', setup: confirmLink, request: (h, token) => json(h, '/confirm-email', { token }), ok: 200, writes: true },
  {
    name: 'POST /confirm-email (the page form)',
    setup: confirmLink,
    request: (h, token) => h.post('/confirm-email', new URLSearchParams({ token: token as string }).toString(), { 'Content-Type': 'application/x-www-form-urlencoded' }),
    ok: 200,
    writes: true,
    page: true,
  },
  { name: 'GET /confirm-email', setup: confirmLink, request: (h, token) => h.get(`/confirm-email?token=${token}`), ok: 200, writes: true, page: true },
  { name: 'POST /undo-email-change (JSON)', setup: undoLink, request: (h, token) => json(h, '/undo-email-change', { token }), ok: 200, writes: true },
  { name: 'POST /login, TOTP on', setup: (h) => withTotp(h), request: (h) => json(h, '/login', { email: EMAIL, password: GOOD_PASSWORD }), ok: 202, writes: true },
  {
    name: 'POST /login/mfa with a code',
    setup: (h) => withTotp(h, true),
    request: (h, token) => json(h, '/login/mfa', { challenge: totpParts(token).challenge, code: nextCode(h, totpParts(token).secret) }),
    ok: 200,
    writes: true,
  },
  { name: 'POST /mfa/totp/setup', setup: loggedIn, request: (h, token) => h.bearer('POST', '/mfa/totp/setup', token ?? '', { password: GOOD_PASSWORD }), ok: 200, writes: true },
  {
    name: 'POST /mfa/totp/enable',
    setup: pendingTotp,
    request: (h, token) => h.bearer('POST', '/mfa/totp/enable', totpParts(token).session, { code: nextCode(h, totpParts(token).secret) }),
    ok: 200,
    writes: true,
  },
  {
    name: 'POST /mfa/recovery-codes',
    setup: (h) => withTotp(h),
    request: (h, token) => h.bearer('POST', '/mfa/recovery-codes', totpParts(token).session, { password: GOOD_PASSWORD, code: nextCode(h, totpParts(token).secret) }),
    ok: 200,
    writes: true,
  },
  {
    name: 'POST /mfa/totp/disable',
    setup: (h) => withTotp(h),
    request: (h, token) => h.bearer('POST', '/mfa/totp/disable', totpParts(token).session, { password: GOOD_PASSWORD, code: nextCode(h, totpParts(token).secret) }),
    ok: 200,
    writes: true,
  },
];

function changeEmail(h: Harness, session: string | void, newEmail: string) {
  return h.bearer('POST', '/change-email', session ?? '', { password: GOOD_PASSWORD, newEmail });
}
async function loggedInBesideAnother(h: Harness): Promise<string> {
  await h.createActiveAccount('other@example.com');
  return loggedIn(h);
}
/** A logged-in account that asked to move to ada@new.example: the link's token. */
async function confirmLink(h: Harness): Promise<string> {
  const session = await loggedIn(h);
  await h.logIn(EMAIL); // another session, which the confirmation ends
  await changeEmail(h, session, 'ada@new.example');
  return new URL(h.mails.filter((m) => m.template === 'email-change').at(-1)!.link!).searchParams.get('token')!;
}
/** The same account, moved: the undo link's token. */
async function undoLink(h: Harness): Promise<string> {
  await json(h, '/confirm-email', { token: await confirmLink(h) });
  return new URL(h.mails.filter((m) => m.template === 'email-changed').at(-1)!.link!).searchParams.get('token')!;
}

async function prepared(flow: Flow) {
  const plan = faultPlan();
  const h = await createHarness({}, faultyDatabase(plan));
  const token = await flow.setup(h);
  return { plan, h, token };
}

describe(`database faults (${backend.name})`, () => {
  for (const flow of flows) {
    it(`${flow.name}: a failure at any statement answers 503 and changes nothing`, async () => {
      // A clean run counts the statements the request runs.
      const clean = await prepared(flow);
      clean.plan.armed = true;
      // The request's own statements: the courier's, which send its mail after the answer, are not
      // the request's to fail (tests/mail-faults.test.ts holds what a failed send does).
      clean.h.later.hold = true;
      expect((await flow.request(clean.h, clean.token)).status).toBe(flow.ok);
      const statements = [...clean.plan.seen];
      expect(statements.length).toBeGreaterThan(0);
      expect(statements.some((s) => /^(run|batch)/.test(s))).toBe(flow.writes);

      for (let n = 1; n <= statements.length; n++) {
        const { plan, h, token } = await prepared(flow);
        const before = await dump(h.db);
        const mailsBefore = h.mails.length;
        plan.armed = true;
        plan.failAt = n;
        h.later.hold = true;
        const res = await flow.request(h, token);
        const context = `${flow.name}, failing statement ${n} of ${statements.length} (${statements[n - 1]})`;
        expect(res.status, context).toBe(503);
        expect(Number(res.headers.get('retry-after')), context).toBeGreaterThan(0);
        const body = await res.text();
        if (flow.page) {
          expect(res.headers.get('content-type'), context).toMatch(/^text\/html/);
          expect(body, context).toContain('Please try again shortly');
        } else {
          expect(res.headers.get('content-type'), context).toBe('application/problem+json');
          expect(JSON.parse(body), context).toMatchObject({ status: 503, type: 'urn:latchkey:problem:unavailable' });
        }
        expect(body, context).not.toMatch(/injected|json\(|SELECT|at .*\.ts/i);
        expect(await dump(h.db), context).toBe(before);
        plan.armed = false;
        h.later.hold = false;
        await h.later.settled();
        expect(h.mails.slice(mailsBefore), context).toEqual([]);
        expect(h.events.some((e) => e.event === 'database_unavailable'), context).toBe(true);

        // The database is back: the same request goes through.
        expect((await flow.request(h, token)).status, context).toBe(flow.ok);
      }
    });
  }

  it('fails the batch statement after the first one and rolls the first one back (the backend is atomic)', async () => {
    // A clean activation first, to find where its batch's second statement falls.
    const probe = faultPlan();
    const clean = await createHarness({}, faultyDatabase(probe));
    const cleanToken = await clean.registerAndGetToken(EMAIL);
    probe.armed = true;
    expect((await clean.post('/activate', { token: cleanToken, password: GOOD_PASSWORD })).status).toBe(200);
    const second = probe.seen.findIndex((s) => /^batch\[3\]: UPDATE registrations/.test(s)) + 1;
    expect(probe.seen[second - 2]).toMatch(/^batch\[3\]: INSERT INTO accounts/);

    const plan = faultPlan();
    const h = await createHarness({}, faultyDatabase(plan));
    const token = await h.registerAndGetToken(EMAIL);
    const before = await dump(h.db);
    plan.armed = true;
    plan.failAt = second; // batch statement 1 (the insert) runs, then statement 2 fails
    const res = await h.post('/activate', { token, password: GOOD_PASSWORD });
    expect(plan.seen[second - 1]).toMatch(/^batch\[3\]: UPDATE registrations/);
    expect(res.status).toBe(503);
    expect(await dump(h.db)).toBe(before);
    const accounts = await h.db.prepare('SELECT count(*) AS n FROM accounts').first<{ n: number }>();
    expect(accounts?.n).toBe(0);
  });
});
