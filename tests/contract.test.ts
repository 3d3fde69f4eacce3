/**
 * The OpenAPI contract, both ways. The harness checks every response any handler test sees against
 * /openapi.json (tests/support/contract.ts); this file proves that check can fail, and drives every
 * documented answer at least once, so the document promises nothing the app never sends.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { Database } from '../lib/storage/db.ts';
import { contractChecker, contractLog, type OpenApiDocument } from './support/contract.ts';
import { createHarness, GOOD_PASSWORD, NO_LIMITS, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';
import { codeNow, enrol as enrolForContract, wrongCode } from './support/totp.ts';

/** The second factor's routes for a logged-in account (docs/second-factor.md). */
const MFA_ROUTES = ['/mfa/totp/setup', '/mfa/totp/enable', '/mfa/totp/disable', '/mfa/recovery-codes'] as const;
const MFA_BODIES: Record<(typeof MFA_ROUTES)[number], object> = {
  '/mfa/totp/setup': { password: GOOD_PASSWORD },
  '/mfa/totp/enable': { code: '123456' },
  '/mfa/totp/disable': { password: GOOD_PASSWORD, code: '123456' },
  '/mfa/recovery-codes': { password: GOOD_PASSWORD, code: '123456' },
};
const LIVE_LOOKING = `${'s'.repeat(22)}.${'x'.repeat(43)}`;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

/** A database whose every statement fails, as a lost D1 binding or a locked file would. */
const brokenDb = (): Database => ({
  prepare() {
    throw new Error('database is gone');
  },
  async batch() {
    throw new Error('database is gone');
  },
});

async function documentOf(h: Harness): Promise<OpenApiDocument> {
  return (await (await h.get('/openapi.json')).json()) as OpenApiDocument;
}

/**
 * Documented answers that this file does not provoke, and why. Anything else the document lists
 * must be seen below.
 */
const NOT_DRIVEN: Array<[RegExp, string]> = [
  [/ 429 /, 'throttling answers are driven by the throttling tests'],
  [/^POST \/(register|login|forgot-password|resend-activation) 403 /, "the bot check's refusal needs TURNSTILE_* set: driven by tests/bot-check.test.ts"],
  [/^GET \/demo\.js 500 /, 'the script is a constant: nothing on its route can fail'],
];

describe(`the OpenAPI contract (${backend.name})`, () => {
  it('the check refuses responses the document does not promise', async () => {
    const h = await createHarness();
    const check = contractChecker(await documentOf(h));
    const login = new Request('http://localhost/login', { method: 'POST' });
    const json = (status: number, body: unknown, type = 'application/json', headers: Record<string, string> = {}) =>
      new Response(JSON.stringify(body), { status, headers: { 'Content-Type': type, ...headers } });
    const user = { id: '0b7f4c1e-2b8a-4f0e-9a51-3d1f3b2c9e10', email: 'a@example.com', createdAt: '2026-01-15T12:00:00.000Z', activatedAt: '2026-01-15T12:00:00.000Z' };

    const device = { token: 'x'.repeat(43), expiresAt: '2026-04-15T12:00:00.000Z' };
    const session = { token: `${'s'.repeat(22)}.${'x'.repeat(43)}`, expiresAt: '2026-01-22T12:00:00.000Z' };
    expect((await check(login, json(200, { user, device, session }))).violations).toEqual([]);
    expect((await check(login, json(418, { user, device, session }))).violations.join()).toMatch(/status not documented/);
    expect((await check(login, json(200, { user, device, session }, 'text/plain'))).violations.join()).toMatch(/media type not documented/);
    expect((await check(login, json(200, { user: { ...user, id: 'not-a-uuid' }, device, session }))).violations.join()).toMatch(/does not match/);
    expect((await check(login, json(200, { user: { id: user.id }, device, session }))).violations.join()).toMatch(/does not match/);
    expect((await check(login, json(200, { user, session }))).violations.join()).toMatch(/required property 'device'/);
    expect((await check(login, json(200, { user, device }))).violations.join()).toMatch(/required property 'session'/);
    // A templated path is checked against its template.
    const end = new Request('http://localhost/sessions/abc', { method: 'DELETE' });
    expect((await check(end, new Response(null, { status: 204 }))).violations).toEqual([]);
    expect((await check(end, json(200, { ended: true }))).violations.join()).toMatch(/status not documented/);
    const unavailable = { type: 'urn:latchkey:problem:unavailable', title: 'Temporarily unavailable', status: 503 };
    expect((await check(login, json(503, unavailable, 'application/problem+json', { 'Retry-After': '5' }))).violations).toEqual([]);
    expect((await check(login, json(503, unavailable, 'application/problem+json'))).violations.join()).toMatch(/Retry-After missing/);
    expect((await check(login, json(401, { ...unavailable, status: 503 }, 'application/problem+json'))).violations.join()).toMatch(/status member/);
    expect((await check(login, json(422, { ...unavailable, status: 422 }, 'application/problem+json'))).violations.join()).toMatch(/does not match/);
    const nowhere = new Request('http://localhost/nowhere');
    expect((await check(nowhere, json(200, {}))).violations.join()).toMatch(/undocumented operation/);
  });

  it('documents every endpoint with its request bodies', async () => {
    const doc = await documentOf(await createHarness());
    expect(doc.openapi).toBe('3.1.0');
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /',
        'GET /activate',
        'GET /demo.js',
        'GET /health',
        'GET /openapi.json',
        'GET /reset-password',
        'POST /activate',
        'POST /forgot-password',
        'POST /login',
        'POST /register',
        'POST /resend-activation',
        'POST /reset-password',
        'GET /session',
        'POST /logout',
        'GET /sessions',
        'DELETE /sessions/{id}',
        'GET /devices',
        'DELETE /devices/{id}',
        'POST /change-password',
        'POST /delete-account',
        'POST /change-email',
        'GET /confirm-email',
        'POST /confirm-email',
        'GET /undo-email-change',
        'POST /undo-email-change',
        'POST /login/mfa',
        'POST /mfa/totp/setup',
        'POST /mfa/totp/enable',
        'POST /mfa/totp/disable',
        'POST /mfa/recovery-codes',
      ].sort(),
    );
    // The session routes say that they take a bearer token, and the document says what one is.
    const security = (path: string, method: string) => (doc.paths[path]![method] as unknown as { security?: unknown }).security;
    for (const [path, method] of [['/session', 'get'], ['/logout', 'post'], ['/sessions', 'get'], ['/sessions/{id}', 'delete'], ['/devices', 'get'], ['/devices/{id}', 'delete'], ['/change-password', 'post'], ['/delete-account', 'post'], ['/change-email', 'post'], ...MFA_ROUTES.map((path) => [path, 'post'] as const)] as const) {
      expect(security(path, method), `${method} ${path}`).toEqual([{ bearer: [] }]);
    }
    expect(security('/login', 'post')).toBeUndefined();
    expect((doc as unknown as { components: { securitySchemes: unknown } }).components.securitySchemes).toEqual({
      bearer: expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    });
    const bodyTypes = (path: string) => Object.keys((doc.paths[path]!.post as unknown as { requestBody: { content: object } }).requestBody.content).sort();
    expect(bodyTypes('/register')).toEqual(['application/json']);
    expect(bodyTypes('/login')).toEqual(['application/json']);
    expect(bodyTypes('/login/mfa')).toEqual(['application/json']);
    for (const path of MFA_ROUTES) expect(bodyTypes(path)).toEqual(['application/json']);
    expect(bodyTypes('/activate')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(bodyTypes('/resend-activation')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(bodyTypes('/forgot-password')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(bodyTypes('/reset-password')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(bodyTypes('/change-email')).toEqual(['application/json']);
    expect(bodyTypes('/confirm-email')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
    expect(bodyTypes('/undo-email-change')).toEqual(['application/json', 'application/x-www-form-urlencoded']);
  });

  it('the app sends every answer that the document lists', async () => {
    const h = await createHarness();
    const expectStatus = async (res: Promise<Response>, status: number) => expect((await res).status).toBe(status);

    // The happy path, for JSON clients and for the pages.
    await expectStatus(h.get('/'), 200);
    await expectStatus(h.get('/demo.js'), 200);
    await expectStatus(h.get('/health'), 200);
    const token = await h.registerAndGetToken('ada@example.com');
    const bad = 'A'.repeat(43);
    await expectStatus(h.get(`/activate?token=${token}`), 200);
    await expectStatus(h.post('/resend-activation', { email: 'ada@example.com' }), 202);
    await expectStatus(h.post('/resend-activation', form({ email: 'ada@example.com' }), FORM), 202);
    await expectStatus(h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD }), 401);
    await expectStatus(h.post('/activate', { token, password: OTHER_PASSWORD }), 422);
    await expectStatus(h.post('/activate', form({ token, password: OTHER_PASSWORD }), FORM), 422);
    await expectStatus(h.post('/activate', { token, password: GOOD_PASSWORD }), 200);
    await expectStatus(h.post('/activate', form({ token, password: GOOD_PASSWORD }), FORM), 200);
    await expectStatus(h.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD }), 200);
    await expectStatus(h.post('/login', { email: 'ada@example.com', password: 'not the password at all' }), 401);

    // A forgotten password, for JSON clients and for the pages: every answer of the reset link.
    const RESET_PASSWORD = 'seven quiet otters under the bridge';
    h.client.address = '192.0.2.44'; // a client of its own: the first has spent its mail allowance for ada@ above
    await expectStatus(h.post('/forgot-password', { email: 'nobody@example.com' }), 202);
    await expectStatus(h.post('/forgot-password', form({ email: 'nobody@example.com' }), FORM), 202);
    await expectStatus(h.post('/forgot-password', { email: 'not an address' }), 422);
    await expectStatus(h.post('/forgot-password', form({ email: 'not an address' }), FORM), 422);
    const reset = await h.forgotAndGetToken('ada@example.com');
    const resetByForm = await h.forgotAndGetToken('ada@example.com');
    await expectStatus(h.get(`/reset-password?token=${reset}`), 200);
    await expectStatus(h.post('/reset-password', { token: reset, password: 'short' }), 422);
    await expectStatus(h.post('/reset-password', form({ token: reset, password: RESET_PASSWORD, confirmPassword: 'typo' }), FORM), 422);
    await expectStatus(h.post('/reset-password', { token: reset, password: RESET_PASSWORD }), 200);
    const resetAgain = await h.forgotAndGetToken('ada@example.com');
    await expectStatus(h.post('/reset-password', form({ token: resetAgain, password: RESET_PASSWORD, confirmPassword: RESET_PASSWORD }), FORM), 200);
    await expectStatus(h.get(`/reset-password?token=${resetByForm}`), 400);
    await expectStatus(h.post('/reset-password', { token: resetByForm, password: RESET_PASSWORD }), 400);
    await expectStatus(h.post('/reset-password', form({ token: resetByForm, password: RESET_PASSWORD, confirmPassword: RESET_PASSWORD }), FORM), 400);
    await expectStatus(h.get(`/reset-password?token=${bad}&token=${bad}`), 422);
    const lateReset = await h.forgotAndGetToken('ada@example.com');
    h.clock.now += 2 * 60 * 60 * 1000;
    await expectStatus(h.get(`/reset-password?token=${lateReset}`), 410);
    await expectStatus(h.post('/reset-password', { token: lateReset, password: RESET_PASSWORD }), 410);
    await expectStatus(h.post('/reset-password', form({ token: lateReset, password: RESET_PASSWORD, confirmPassword: RESET_PASSWORD }), FORM), 410);

    // Links that do not work, and links that expired.
    await expectStatus(h.get(`/activate?token=${bad}`), 400);
    // A link with its query mangled (the token twice): the person who clicked it gets a page, not JSON.
    const twice = await h.get(`/activate?token=${bad}&token=${bad}`);
    expect(twice.headers.get('content-type')).toMatch(/^text\/html/);
    await expectStatus(Promise.resolve(twice), 422);
    await expectStatus(h.post('/activate', { token: bad, password: GOOD_PASSWORD }), 400);
    await expectStatus(h.post('/activate', form({ token: bad, password: GOOD_PASSWORD }), FORM), 400);
    const old = await h.registerAndGetToken('grace@example.com');
    h.clock.now += 2 * 24 * 60 * 60 * 1000;
    await expectStatus(h.get(`/activate?token=${old}`), 410);
    await expectStatus(h.post('/activate', { token: old, password: GOOD_PASSWORD }), 410);
    await expectStatus(h.post('/activate', form({ token: old, password: GOOD_PASSWORD }), FORM), 410);

    // Requests that cannot be served as sent.
    for (const path of ['/register', '/login', '/activate', '/resend-activation', '/forgot-password', '/reset-password', '/confirm-email', '/undo-email-change']) {
      await expectStatus(h.post(path, '{"email":'), 400);
      await expectStatus(h.post(path, { padding: 'x'.repeat(17 * 1024) }), 413);
      await expectStatus(h.post(path, 'hello', { 'Content-Type': 'text/plain' }), 415);
      await expectStatus(h.post(path, {}), 422);
    }
    // A body that is not UTF-8: problem+json for JSON (above, with the other 400s), a page for a form.
    await expectStatus(h.post('/resend-activation', 'email=%FF%40example.com', FORM), 400);
    await expectStatus(h.post('/activate', form({}), FORM), 422);
    await expectStatus(h.post('/reset-password', form({}), FORM), 422);
    await expectStatus(h.post('/confirm-email', form({}), FORM), 422);
    await expectStatus(h.post('/undo-email-change', form({}), FORM), 422);
    await expectStatus(h.post('/confirm-email', 'token=%FF', FORM), 400);
    await expectStatus(h.post('/undo-email-change', 'token=%FF', FORM), 400);
    await expectStatus(h.post('/forgot-password', 'email=%FF%40example.com', FORM), 400);
    await expectStatus(h.post('/reset-password', 'token=%FF', FORM), 400);
    await expectStatus(h.post('/resend-activation', form({ email: 'not an address' }), FORM), 422);

    // The session routes: every answer with a live token, and the one 401 without.
    // ada's password is the one the reset above chose.
    const session = await h.logIn('ada@example.com', RESET_PASSWORD);
    const spare = await h.logIn('ada@example.com', RESET_PASSWORD);
    const NEW = 'another passphrase for the contract';
    await expectStatus(h.bearer('GET', '/session', session), 200);
    await expectStatus(h.bearer('GET', '/sessions', session), 200);
    await expectStatus(h.bearer('DELETE', `/sessions/${spare.split('.')[0]}`, session), 204);
    await expectStatus(h.bearer('DELETE', `/sessions/${spare.split('.')[0]}`, session), 404);
    await expectStatus(h.bearer('DELETE', `/sessions/${'x'.repeat(65)}`, session), 422);
    await expectStatus(h.bearer('GET', '/devices', session), 200);
    const { devices } = (await (await h.bearer('GET', '/devices', session)).json()) as { devices: Array<{ id: string }> };
    await expectStatus(h.bearer('DELETE', `/devices/${devices[0]!.id}`, session), 204);
    await expectStatus(h.bearer('DELETE', `/devices/${devices[0]!.id}`, session), 404);
    await expectStatus(h.bearer('DELETE', `/devices/${'x'.repeat(65)}`, session), 422);
    await expectStatus(h.bearer('POST', '/change-password', session, { currentPassword: 'not the password at all', newPassword: NEW }), 401);
    await expectStatus(h.bearer('POST', '/change-password', session, { currentPassword: RESET_PASSWORD, newPassword: NEW }), 200);
    await expectStatus(h.bearer('POST', '/delete-account', session, { password: GOOD_PASSWORD }), 401);
    for (const path of ['/change-password', '/delete-account', '/change-email']) {
      await expectStatus(h.bearer('POST', path, session, '{"password":'), 400);
      await expectStatus(h.bearer('POST', path, session, { padding: 'x'.repeat(17 * 1024) }), 413);
      await expectStatus(h.bearer('POST', path, session, 'hello', { 'Content-Type': 'text/plain' }), 415);
      await expectStatus(h.bearer('POST', path, session, {}), 422);
    }
    for (const [method, path] of [['GET', '/session'], ['GET', '/sessions'], ['DELETE', '/sessions/x'], ['GET', '/devices'], ['DELETE', '/devices/x'], ['POST', '/logout'], ['POST', '/change-password'], ['POST', '/delete-account'], ['POST', '/change-email']] as const) {
      await expectStatus(h.bearer(method, path, 'not-a-token'), 401);
    }
    await expectStatus(h.bearer('POST', '/logout', session), 204);
    const last = await h.logIn('ada@example.com', NEW);
    await expectStatus(h.bearer('POST', '/delete-account', last, { password: NEW }), 204);

    // A change of address, for JSON clients and for the pages: every answer of both links.
    h.client.address = '192.0.2.55';
    await h.createActiveAccount('mover@example.com');
    const mover = await h.logIn('mover@example.com');
    const move = async (newEmail: string) => {
      await expectStatus(h.bearer('POST', '/change-email', mover, { password: GOOD_PASSWORD, newEmail }), 202);
      return tokenFromLink(h.mails.filter((m) => m.template === 'email-change' && m.to === newEmail).at(-1)?.link);
    };
    const undoLink = (to: string) => tokenFromLink(h.mails.filter((m) => m.template === 'email-changed' && m.to === to).at(-1)?.link);
    await expectStatus(h.bearer('POST', '/change-email', mover, { password: 'not the password at all', newEmail: 'moved@example.com' }), 401);
    await expectStatus(h.bearer('POST', '/change-email', mover, { password: GOOD_PASSWORD, newEmail: 'not an address' }), 422);
    for (const path of ['/confirm-email', '/undo-email-change']) {
      await expectStatus(h.get(`${path}?token=${bad}`), 400);
      await expectStatus(h.get(`${path}?token=${bad}&token=${bad}`), 422);
      await expectStatus(h.post(path, { token: bad }), 400);
      await expectStatus(h.post(path, form({ token: bad }), FORM), 400);
    }
    const late = await move('late@example.com');
    h.clock.now += 2 * 60 * 60 * 1000;
    await expectStatus(h.get(`/confirm-email?token=${late}`), 410);
    await expectStatus(h.post('/confirm-email', { token: late }), 410);
    await expectStatus(h.post('/confirm-email', form({ token: late }), FORM), 410);
    const taken = await move('taken@example.com');
    await h.createActiveAccount('taken@example.com');
    await expectStatus(h.post('/confirm-email', { token: taken }), 409);
    await expectStatus(h.post('/confirm-email', form({ token: taken }), FORM), 409);
    const first = await move('moved@example.com');
    await expectStatus(h.get(`/confirm-email?token=${first}`), 200);
    await expectStatus(h.post('/confirm-email', { token: first }), 200);
    const second = await move('moved2@example.com');
    await expectStatus(h.post('/confirm-email', form({ token: second }), FORM), 200);
    const backToMover = undoLink('mover@example.com');
    const backToMoved = undoLink('moved@example.com');
    await expectStatus(h.get(`/undo-email-change?token=${backToMoved}`), 200);
    await expectStatus(h.post('/undo-email-change', { token: backToMoved }), 200);
    // The earlier change's undo link outlives the undo of the later one.
    await expectStatus(h.post('/undo-email-change', form({ token: backToMover }), FORM), 200);
    const again = await h.logIn('mover@example.com');
    await expectStatus(h.bearer('POST', '/change-email', again, { password: GOOD_PASSWORD, newEmail: 'moved3@example.com' }), 202);
    await expectStatus(h.post('/confirm-email', { token: tokenFromLink(h.mails.filter((m) => m.to === 'moved3@example.com').at(-1)?.link) }), 200);
    const expiredUndo = undoLink('mover@example.com');
    h.clock.now += 8 * 24 * 60 * 60 * 1000;
    await expectStatus(h.get(`/undo-email-change?token=${expiredUndo}`), 410);
    await expectStatus(h.post('/undo-email-change', { token: expiredUndo }), 410);
    await expectStatus(h.post('/undo-email-change', form({ token: expiredUndo }), FORM), 410);
    // The second factor: every answer of its routes and of the login's second step. A harness of its
    // own, made after the one above is done with (on D1 a new harness empties the one database).
    {
      // Enough free failures for the wrong passwords and codes below on one session.
      const x = await createHarness({ ...NO_LIMITS, LOGIN_FREE_FAILURES: '20' });
      const { secret, session: s, recoveryCodes } = await enrolForContract(x, 'mfa@example.com');
      const HTML = { Accept: 'text/html' };
      await expectStatus(x.bearer('POST', '/mfa/totp/setup', s, { password: GOOD_PASSWORD }), 409);
      await expectStatus(x.bearer('POST', '/mfa/totp/setup', s, { password: GOOD_PASSWORD }, HTML), 409);
      await expectStatus(x.bearer('POST', '/mfa/totp/setup', s, { password: OTHER_PASSWORD }), 401);
      await expectStatus(x.bearer('POST', '/mfa/totp/setup', s, { password: OTHER_PASSWORD }, HTML), 401);
      await expectStatus(x.bearer('POST', '/mfa/totp/enable', s, { code: codeNow(x, secret, 1) }), 409);
      const login = await x.post('/login', { email: 'mfa@example.com', password: GOOD_PASSWORD });
      expect(login.status).toBe(202);
      const { challenge } = (await login.json()) as { challenge: string };
      await expectStatus(x.post('/login/mfa', { challenge, code: wrongCode(x, secret) }), 401);
      await expectStatus(x.post('/login/mfa', { challenge, recoveryCode: recoveryCodes[0] }), 200);
      await expectStatus(x.bearer('POST', '/mfa/recovery-codes', s, { password: GOOD_PASSWORD, code: wrongCode(x, secret) }), 401);
      await expectStatus(x.bearer('POST', '/mfa/recovery-codes', s, { password: OTHER_PASSWORD, code: wrongCode(x, secret) }), 401);
      await expectStatus(x.bearer('POST', '/mfa/recovery-codes', s, { password: GOOD_PASSWORD, code: codeNow(x, secret) }), 200);
      x.clock.now += 30_000;
      await expectStatus(x.bearer('POST', '/mfa/totp/disable', s, { password: OTHER_PASSWORD, code: codeNow(x, secret) }), 401);
      await expectStatus(x.bearer('POST', '/mfa/totp/disable', s, { password: GOOD_PASSWORD, code: codeNow(x, secret) }), 200);
      await expectStatus(x.bearer('POST', '/mfa/totp/disable', s, { password: GOOD_PASSWORD, code: codeNow(x, secret, 1) }), 409);
      await expectStatus(x.bearer('POST', '/mfa/recovery-codes', s, { password: GOOD_PASSWORD, code: codeNow(x, secret, 1) }), 409);
      await expectStatus(x.bearer('POST', '/mfa/totp/enable', s, { code: codeNow(x, secret, 1) }), 409);
      await expectStatus(x.bearer('POST', '/mfa/totp/setup', s, { password: GOOD_PASSWORD }, HTML), 200);
      await expectStatus(x.bearer('POST', '/mfa/totp/enable', s, { code: '000000' }), 422);
      // A second factor asked by the password change and the deletion.
      const other = await enrolForContract(x, 'mfa2@example.com');
      await expectStatus(x.bearer('POST', '/change-password', other.session, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }), 401);
      for (const path of MFA_ROUTES) {
        for (const headers of [{}, ...(path === '/mfa/totp/setup' ? [HTML] : [])]) {
          await expectStatus(x.bearer('POST', path, other.session, '{"password":', headers), 400);
          await expectStatus(x.bearer('POST', path, other.session, { padding: 'x'.repeat(17 * 1024) }, headers), 413);
          await expectStatus(x.bearer('POST', path, other.session, 'hello', { 'Content-Type': 'text/plain', ...headers }), 415);
          await expectStatus(x.bearer('POST', path, other.session, {}, headers), 422);
          await expectStatus(x.bearer('POST', path, 'not-a-token', {}, headers), 401);
        }
      }
      await expectStatus(x.post('/login/mfa', '{"challenge":'), 400);
      await expectStatus(x.post('/login/mfa', { padding: 'x'.repeat(17 * 1024) }), 413);
      await expectStatus(x.post('/login/mfa', 'hello', { 'Content-Type': 'text/plain' }), 415);
      await expectStatus(x.post('/login/mfa', { challenge: 'x', code: '123456', recoveryCode: 'abcd' }), 422);
    }

    // The app failing: the database gone (503), and a bug (500), for JSON clients and for pages.
    // The same requests each time: every route, as JSON and as a page's form where it takes one.
    const everyRoute = (x: Harness) => [
      x.get('/health'),
      x.get(`/activate?token=${token}`),
      x.post('/register', { email: 'ada@example.com', password: GOOD_PASSWORD }),
      x.post('/login', { email: 'ada@example.com', password: GOOD_PASSWORD }),
      x.post('/activate', { token, password: GOOD_PASSWORD }),
      x.post('/activate', form({ token, password: GOOD_PASSWORD }), FORM),
      x.post('/resend-activation', { email: 'ada@example.com' }),
      x.post('/resend-activation', form({ email: 'ada@example.com' }), FORM),
      x.get(`/reset-password?token=${token}`),
      x.post('/forgot-password', { email: 'ada@example.com' }),
      x.post('/forgot-password', form({ email: 'ada@example.com' }), FORM),
      x.post('/reset-password', { token, password: GOOD_PASSWORD }),
      x.post('/reset-password', form({ token, password: GOOD_PASSWORD }), FORM),
      // A token that would be live: the failure comes first, at its lookup.
      x.bearer('GET', '/session', LIVE_LOOKING),
      x.bearer('GET', '/sessions', LIVE_LOOKING),
      x.bearer('DELETE', '/sessions/x', LIVE_LOOKING),
      x.bearer('GET', '/devices', LIVE_LOOKING),
      x.bearer('DELETE', '/devices/x', LIVE_LOOKING),
      x.bearer('POST', '/logout', LIVE_LOOKING),
      x.bearer('POST', '/change-password', LIVE_LOOKING, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      x.bearer('POST', '/delete-account', LIVE_LOOKING, { password: GOOD_PASSWORD }),
      x.bearer('POST', '/change-email', LIVE_LOOKING, { password: GOOD_PASSWORD, newEmail: 'ada@new.example' }),
      x.get(`/confirm-email?token=${token}`),
      x.post('/confirm-email', { token }),
      x.post('/confirm-email', form({ token }), FORM),
      x.get(`/undo-email-change?token=${token}`),
      x.post('/undo-email-change', { token }),
      x.post('/undo-email-change', form({ token }), FORM),
      x.post('/login/mfa', { challenge: LIVE_LOOKING, code: '123456' }),
      ...MFA_ROUTES.map((path) => x.bearer('POST', path, LIVE_LOOKING, MFA_BODIES[path])),
      x.bearer('POST', '/mfa/totp/setup', LIVE_LOOKING, { password: GOOD_PASSWORD }, { Accept: 'text/html' }),
    ];
    const down = await createHarness({}, brokenDb);
    for (const res of everyRoute(down)) await expectStatus(res, 503);

    const buggy = await createHarness();
    const bug = () => {
      throw new TypeError('a bug');
    };
    buggy.deps.now = bug;
    buggy.deps.hasher = { ...buggy.deps.hasher, hash: bug, verifyDummy: bug };
    buggy.deps.db = { ...buggy.deps.db, prepare: bug };
    Object.defineProperty(buggy.deps, 'config', { get: bug });
    await expectStatus(buggy.get('/'), 500);
    await expectStatus(buggy.get('/openapi.json'), 500);
    for (const res of everyRoute(buggy)) await expectStatus(res, 500);
  });

  afterAll(async () => {
    const doc = await documentOf(await createHarness());
    const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).flatMap(([method, operation]) =>
        Object.entries(operation.responses).flatMap(([status, response]) =>
          Object.keys(response.content ?? {}).map((type) => `${method.toUpperCase()} ${path} ${status} ${type}`),
        ),
      ),
    );
    const seen = new Set(contractLog.map((s) => `${s.method.toUpperCase()} ${s.path} ${s.status} ${s.mediaType}`));
    const missing = documented.filter((entry) => !seen.has(entry) && !NOT_DRIVEN.some(([pattern]) => pattern.test(entry)));
    expect(missing, 'documented answers that no test provoked').toEqual([]);
  });
});
