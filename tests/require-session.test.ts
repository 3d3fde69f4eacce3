/**
 * Latchkey as a library inside someone's Hono app (issue 24): its app mounted under /auth, and
 * requireSession() guarding the host's own /api/me, by bearer token or by the host's cookie. The
 * guard decides as GET /session does (the same flow: expiry, sliding, ended sessions), shows the
 * account as the JSON API does, never a hash, and answers Latchkey's 401 otherwise. Latchkey's
 * 404 and 405 stay its own under the prefix; the host's paths stay the host's.
 */
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createLatchkey, LatchkeyUnavailableError } from '../functions/latchkey.ts';
import { newKeyBytes } from '../lib/crypto/seal.ts';
import type { OutgoingMail } from '../lib/mail/transport.ts';
import { FAST_SCRYPT, GOOD_PASSWORD, tokenFromLink } from './support/harness.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const COOKIE = '__Host-session';
const EMAIL = 'ada@example.com';

const failing = (): never => {
  throw new Error('SQLITE_IOERR: disk I/O error');
};

async function hostApp() {
  const mails: OutgoingMail[] = [];
  const sending: Promise<unknown>[] = [];
  const events: Array<{ event: string; [field: string]: unknown }> = [];
  const clock = { now: Date.UTC(2026, 0, 15, 12) };
  const database = await backend.freshDatabase();
  const outage = { on: false };
  const latchkey = createLatchkey({
    // Fails every statement while `outage.on`: the driver's own error, which the root's guard turns into DatabaseUnavailableError.
    database: {
      prepare: (sql) => (outage.on ? failing() : database.prepare(sql)),
      batch: (statements) => database.batch(statements),
    },
    publicUrl: 'https://host.example/auth',
    // No lookups from a test: the range API is another test's subject (tests/breached-passwords.test.ts).
    breachedPasswords: { check: 'off' },
    scrypt: { logN: Number(FAST_SCRYPT.SCRYPT_LOG_N), r: Number(FAST_SCRYPT.SCRYPT_R), p: Number(FAST_SCRYPT.SCRYPT_P) },
    transport: { name: 'log', send: async (mail) => void mails.push(mail) },
    dataKey: newKeyBytes(),
    mailbox: false,
    log: (event, fields = {}) => void events.push({ event, ...fields }),
    now: () => clock.now,
    // The mails go after the answer; kept here so that a test waits for exactly them.
    later: (work) => {
      const sent = work();
      sending.push(sent);
      return sent;
    },
  });
  const app = new Hono();
  app.route('/auth', latchkey.app);
  app.get('/api/me', latchkey.requireSession(), (c) => c.json({ user: c.var.user, session: c.var.session }));
  app.get('/api/cookie-me', latchkey.requireSession({ cookie: COOKIE }), (c) => c.json({ user: c.var.user, session: c.var.session }));

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const bearer = (path: string, token: string, method = 'GET') => app.request(path, { method, headers: { Authorization: `Bearer ${token}` } });
  const cookie = (path: string, token: string) => app.request(path, { headers: { Cookie: `${COOKIE}=${token}` } });

  /** register → the mailed link → activate → login: the session's token. */
  async function signUp(): Promise<string> {
    expect((await post('/auth/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    await Promise.all(sending);
    const link = mails.find((m) => m.to === EMAIL && m.template === 'activation')?.link;
    expect(link).toMatch(/^https:\/\/host\.example\/auth\/activate\?token=/);
    expect((await post('/auth/activate', { token: tokenFromLink(link), password: GOOD_PASSWORD })).status).toBe(200);
    const login = await post('/auth/login', { email: EMAIL, password: GOOD_PASSWORD });
    expect(login.status).toBe(200);
    return ((await login.json()) as { session: { token: string } }).session.token;
  }

  const passwordHash = async () =>
    (await latchkey.deps.db.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;

  return { app, latchkey, clock, events, outage, post, bearer, cookie, signUp, passwordHash };
}

async function expectLatchkeys401(res: Response) {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(await res.json()).toMatchObject({ type: 'urn:latchkey:problem:unauthenticated', status: 401 });
}

describe(`requireSession() in a host's Hono app (${backend.name})`, () => {
  it('register → activate → login → /api/me shows the user and no hash → logout → 401', async () => {
    const h = await hostApp();
    await expectLatchkeys401(await h.app.request('/api/me'));
    const token = await h.signUp();

    const me = await h.bearer('/api/me', token);
    expect(me.status).toBe(200);
    const text = await me.text();
    const body = JSON.parse(text) as { user: Record<string, string>; session: Record<string, string> };
    // What GET /session answers for the same token, to the letter.
    const official = (await (await h.bearer('/auth/session', token)).json()) as typeof body;
    expect(body).toEqual(official);
    expect(Object.keys(body.user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
    expect(Object.keys(body.session).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'mfa']);
    expect(body.user.email).toBe(EMAIL);
    expect(body.session.expiresAt).toBe(new Date(h.clock.now + 7 * DAY).toISOString());
    expect(text).not.toContain(await h.passwordHash());
    expect(text).not.toContain(token.split('.')[1]);

    expect((await h.bearer('/auth/logout', token, 'POST')).status).toBe(204);
    await expectLatchkeys401(await h.bearer('/api/me', token));
    expect(h.events.filter((e) => e.event === 'session_rejected').map((e) => [e.reason, e.path])).toEqual([
      ['missing', '/api/me'],
      ['revoked', '/api/me'],
    ]);
  });

  it('reads the token from the cookie the host names; an Authorization header, even a bad one, is the one read', async () => {
    const h = await hostApp();
    const token = await h.signUp();
    const me = await h.cookie('/api/cookie-me', token);
    expect(me.status).toBe(200);
    expect(((await me.json()) as { user: { email: string } }).user.email).toBe(EMAIL);
    // A guard without the cookie option ignores cookies.
    await expectLatchkeys401(await h.cookie('/api/me', token));
    const both = await h.app.request('/api/cookie-me', { headers: { Cookie: `${COOKIE}=${token}`, Authorization: 'Bearer nonsense' } });
    await expectLatchkeys401(both);
    await expectLatchkeys401(await h.cookie('/api/cookie-me', `${token}x`));
    expect((await h.bearer('/auth/logout', token, 'POST')).status).toBe(204);
    await expectLatchkeys401(await h.cookie('/api/cookie-me', token));
  });

  it('slides and expires as GET /session does: a use an hour on keeps the session, a week idle ends it', async () => {
    const h = await hostApp();
    const token = await h.signUp();
    const loggedIn = h.clock.now;
    // Two hours on, the host's route slides the idle expiry (GET /session is not called).
    h.clock.now = loggedIn + 2 * HOUR;
    const slid = (await (await h.bearer('/api/me', token)).json()) as { session: { expiresAt: string } };
    expect(slid.session.expiresAt).toBe(new Date(h.clock.now + 7 * DAY).toISOString());
    // A minute before the slid expiry it still works: without the slide it would have ended.
    h.clock.now = loggedIn + 2 * HOUR + 7 * DAY - 60_000;
    expect((await h.bearer('/api/me', token)).status).toBe(200);
    // A week without use ends it, for the host's route and for Latchkey's alike.
    h.clock.now += 7 * DAY;
    await expectLatchkeys401(await h.bearer('/api/me', token));
    await expectLatchkeys401(await h.cookie('/api/cookie-me', token));
    await expectLatchkeys401(await h.bearer('/auth/session', token));
    expect(h.events.filter((e) => e.event === 'session_rejected').map((e) => e.reason)).toEqual(['expired', 'expired', 'expired']);
  });

  it("answers Latchkey's 503 with Retry-After when the database is down, as GET /session does, and the host's routes go on", async () => {
    const h = await hostApp();
    const token = await h.signUp();
    h.outage.on = true;
    for (const path of ['/api/me', '/auth/session']) {
      const res = await h.bearer(path, token);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      const text = await res.text();
      expect(JSON.parse(text)).toMatchObject({ type: 'urn:latchkey:problem:unavailable', status: 503 });
      expect(text).not.toContain('SQLITE');
    }
    expect(h.events.filter((e) => e.event === 'database_unavailable').map((e) => [e.reason, e.path])).toEqual([
      ['Error', '/api/me'],
      ['Error', '/auth/session'],
    ]);
    h.outage.on = false;
    expect((await h.bearer('/api/me', token)).status).toBe(200);
  });

  it("keeps Latchkey's 404 and 405 under the prefix, and the host's own answers outside it", async () => {
    const h = await hostApp();
    const nope = await h.app.request('/auth/nope');
    expect(nope.status).toBe(404);
    expect(nope.headers.get('content-type')).toBe('application/problem+json');
    expect(await nope.json()).toMatchObject({ type: 'urn:latchkey:problem:not-found' });
    const put = await h.app.request('/auth/session', { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD');
    expect(await put.json()).toMatchObject({ type: 'urn:latchkey:problem:method-not-allowed' });
    const other = await h.app.request('/other');
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).not.toContain('problem+json');
    expect(await other.text()).toBe('404 Not Found'); // Hono's default: the host's
    expect((await h.app.request('/auth/health')).status).toBe(200);
  });
});

// The calls behind the Worker's RPC entry (functions/worker.ts): a token in, GET /session's body out.
describe(`verifySession() and revokeSession(): a token without a request (${backend.name})`, () => {
  const RPC = { logFields: { via: 'rpc' } };

  it("gives GET /session's body to the letter, slides as it does, and logs why a token failed", async () => {
    const h = await hostApp();
    expect(await h.latchkey.verifySession('', RPC)).toBeNull();
    const token = await h.signUp();
    const official = await (await h.bearer('/auth/session', token)).json();
    expect(await h.latchkey.verifySession(token, RPC)).toEqual(official);
    const text = JSON.stringify(await h.latchkey.verifySession(token, RPC));
    expect(text).not.toContain(await h.passwordHash());
    expect(text).not.toContain(token.split('.')[1]);

    const loggedIn = h.clock.now;
    h.clock.now = loggedIn + 2 * HOUR;
    expect((await h.latchkey.verifySession(token, RPC))?.session.expiresAt).toBe(new Date(h.clock.now + 7 * DAY).toISOString());
    h.clock.now = loggedIn + 2 * HOUR + 7 * DAY - 60_000;
    expect(await h.latchkey.verifySession(token, RPC)).not.toBeNull();
    h.clock.now += 7 * DAY;
    expect(await h.latchkey.verifySession(token, RPC)).toBeNull();
    // Not a string at all (an untyped RPC caller): a missing token, not a thrown error.
    expect(await h.latchkey.verifySession(42 as unknown as string, RPC)).toBeNull();
    expect(h.events.filter((e) => e.event === 'session_rejected').map((e) => [e.reason, e.via])).toEqual([
      ['malformed', 'rpc'],
      ['expired', 'rpc'],
      ['missing', 'rpc'],
    ]);
  });

  it('ends the session as POST /logout does: true once, then false, and the token is dead for GET /session too', async () => {
    const h = await hostApp();
    const token = await h.signUp();
    expect(await h.latchkey.revokeSession(token, RPC)).toBe(true);
    expect(h.events.filter((e) => e.event === 'session_ended')).toEqual([expect.objectContaining({ reason: 'logout', session: token.split('.')[0], via: 'rpc' })]);
    expect(await h.latchkey.revokeSession(token, RPC)).toBe(false);
    expect(await h.latchkey.verifySession(token, RPC)).toBeNull();
    await expectLatchkeys401(await h.bearer('/auth/session', token));
    expect(JSON.stringify(h.events)).not.toContain(token.split('.')[1]);
  });

  it('throws LatchkeyUnavailableError when the database is down: an outage is not a logged-out user', async () => {
    const h = await hostApp();
    const token = await h.signUp();
    h.outage.on = true;
    await expect(h.latchkey.verifySession(token, RPC)).rejects.toThrow(LatchkeyUnavailableError);
    await expect(h.latchkey.revokeSession(token, RPC)).rejects.toThrow(/^Latchkey is unavailable/);
    expect(h.events.filter((e) => e.event === 'database_unavailable').map((e) => [e.reason, e.via])).toEqual([
      ['Error', 'rpc'],
      ['Error', 'rpc'],
    ]);
    h.outage.on = false;
    expect(await h.latchkey.verifySession(token, RPC)).not.toBeNull();
  });
});
