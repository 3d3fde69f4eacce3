// Sessions (issue 11), every answer of every session route: what a login hands out, what a bearer
// token can do, and the one 401 that every token that cannot do it gets.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { purge } from '../lib/flows/purge.ts';
import { endEverySession } from '../lib/storage/sessions.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { faultPlan, faultyDatabase } from './support/faults.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from './support/harness.ts';

const EMAIL = 'ada@example.com';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

const whoAmI = (h: Harness, token: string | undefined) => h.bearer('GET', '/session', token);
const count = async (h: Harness, sql: string) => (await h.db.prepare(sql).first<{ n: number }>())!.n;

async function loggedIn(vars = {}) {
  const h = await createHarness(vars);
  await h.createActiveAccount(EMAIL);
  return { h, token: await h.logIn(EMAIL) };
}

describe(`sessions (${backend.name})`, () => {
  it('a login answers with a new session each time: id.secret, 256 bits of secret, only its SHA-256 stored', async () => {
    const { h, token } = await loggedIn();
    const res = await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD });
    const body = (await res.json()) as { user: { email: string }; session: { token: string; expiresAt: string } };
    expect(body.user.email).toBe(EMAIL);
    expect(body.session.token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(body.session.token).not.toBe(token);
    expect(body.session.expiresAt).toBe(new Date(h.clock.now + 7 * DAY).toISOString());
    const rows = (await h.db.prepare('SELECT id, secret_hash AS secretHash FROM sessions ORDER BY created_at, id').all<{ id: string; secretHash: string }>()).results;
    expect(rows).toHaveLength(2);
    for (const t of [token, body.session.token]) {
      const [id, secret] = t.split('.') as [string, string];
      expect(rows.find((r) => r.id === id)?.secretHash).toBe(tokenDigest(secret));
    }
    const stored = JSON.stringify((await h.db.prepare('SELECT * FROM sessions').all()).results);
    expect(stored).not.toContain(token.split('.')[1]);
    expect(JSON.stringify(h.events)).not.toContain(token.split('.')[1]);
    expect(h.events.filter((e) => e.event === 'session_created')).toHaveLength(2);
  });

  it('GET /session answers the account and the session; the token in any other form is the same 401', async () => {
    const { h, token } = await loggedIn();
    const res = await whoAmI(h, token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { user: { email: string }; session: { id: string; createdAt: string; expiresAt: string } };
    expect(body.user.email).toBe(EMAIL);
    expect(body.session).toEqual({ id: token.split('.')[0], createdAt: new Date(h.clock.now).toISOString(), expiresAt: new Date(h.clock.now + 7 * DAY).toISOString(), mfa: false });
    expect((await h.bearer('GET', '/session', undefined, undefined, { Authorization: `bearer   ${token}` })).status).toBe(200);
    for (const authorization of [`Basic ${token}`, token, `Bearer ${token}x`, `Bearer ${token} extra`]) {
      expect((await h.bearer('GET', '/session', undefined, undefined, { Authorization: authorization })).status, authorization).toBe(401);
    }
  });

  it('missing, malformed, unknown, wrong secret, expired and ended tokens: one 401, after the same statements', async () => {
    const plan = faultPlan();
    const h = await createHarness({}, faultyDatabase(plan));
    await h.createActiveAccount(EMAIL);
    const ended = await h.logIn(EMAIL);
    await h.bearer('POST', '/logout', ended);
    const expired = await h.logIn(EMAIL);
    h.clock.now += 8 * DAY;
    const [id] = (await h.logIn(EMAIL)).split('.');
    const cases: Record<string, string | undefined> = {
      missing: undefined,
      malformed: 'not a token',
      unknown: `${'A'.repeat(22)}.${'B'.repeat(43)}`,
      'wrong secret': `${id}.${'B'.repeat(43)}`,
      expired,
      ended,
    };
    const seen: Record<string, { status: number; body: string; statements: string[]; header: string | null }> = {};
    for (const [name, token] of Object.entries(cases)) {
      plan.armed = true;
      plan.seen = [];
      const res = await whoAmI(h, token);
      seen[name] = { status: res.status, body: await res.text(), statements: plan.seen, header: res.headers.get('www-authenticate') };
    }
    const first = seen.missing!;
    expect(first.status).toBe(401);
    expect(first.header).toBe('Bearer realm="latchkey"');
    expect(JSON.parse(first.body)).toMatchObject({ type: 'urn:latchkey:problem:unauthenticated', status: 401 });
    expect(first.statements).toHaveLength(1);
    for (const [name, s] of Object.entries(seen)) expect(s, name).toEqual(first);
    const reasons = h.events.filter((e) => e.event === 'session_rejected').map((e) => e.reason);
    expect(reasons).toEqual(['missing', 'malformed', 'unknown', 'unknown', 'expired', 'revoked']);
  });

  it('ends a session idle for SESSION_IDLE_SECONDS, keeps a used one sliding, and ends every one at SESSION_MAX_SECONDS', async () => {
    const { h, token } = await loggedIn({ SESSION_IDLE_SECONDS: String(2 * 86_400), SESSION_MAX_SECONDS: String(5 * 86_400) });
    const idle = await h.logIn(EMAIL);
    const start = h.clock.now;
    h.clock.now = start + 2 * DAY - 1;
    expect((await whoAmI(h, idle)).status).toBe(200); // and this use moves its last-seen
    for (let day = 1; day <= 4; day++) {
      h.clock.now = start + day * DAY + HOUR;
      expect((await whoAmI(h, token)).status, `day ${day}`).toBe(200);
    }
    h.clock.now = start + 4 * DAY - 1;
    expect((await whoAmI(h, idle)).status).toBe(401); // 2 days after its last use, to the millisecond
    h.clock.now = start + 5 * DAY - 1;
    const last = (await (await whoAmI(h, token)).json()) as { session: { expiresAt: string } };
    expect(last.session.expiresAt).toBe(new Date(start + 5 * DAY).toISOString());
    h.clock.now = start + 5 * DAY;
    expect((await whoAmI(h, token)).status).toBe(401);
  });

  it('GET /session writes at most once an hour per session', async () => {
    const { h, token } = await loggedIn();
    const lastSeen = () => count(h, 'SELECT last_seen_at AS n FROM sessions');
    const created = await lastSeen();
    h.clock.now += HOUR - 1;
    await whoAmI(h, token);
    expect(await lastSeen()).toBe(created);
    h.clock.now += 1;
    await Promise.all([whoAmI(h, token), whoAmI(h, token), whoAmI(h, token)]);
    expect(await lastSeen()).toBe(h.clock.now);
    h.clock.now += 10;
    await whoAmI(h, token);
    expect(await lastSeen()).toBe(h.clock.now - 10);
  });

  it('POST /logout answers 204 and the token stops working at once; the account\'s other sessions go on', async () => {
    const { h, token } = await loggedIn();
    const other = await h.logIn(EMAIL);
    const res = await h.bearer('POST', '/logout', token);
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await whoAmI(h, token)).status).toBe(401);
    expect((await h.bearer('POST', '/logout', token)).status).toBe(401);
    expect((await whoAmI(h, other)).status).toBe(200);
    expect(h.events.filter((e) => e.event === 'session_ended')).toMatchObject([{ reason: 'logout', session: token.split('.')[0] }]);
  });

  it('two logouts of one session at once end it once and log it once; the one the database runs second finds an ended token', async () => {
    const { h, token } = await loggedIn();
    // Each logout reads the session and ends it in one batch, so the two are ordered: the first ends
    // it, the second is any ended token's 401, and nothing is ended or logged twice.
    const results = await Promise.all([h.bearer('POST', '/logout', token), h.bearer('POST', '/logout', token)]);
    expect(results.map((r) => r.status).sort()).toEqual([204, 401]);
    expect((await whoAmI(h, token)).status).toBe(401);
    expect(h.events.filter((e) => e.event === 'session_ended')).toEqual([expect.objectContaining({ reason: 'logout', session: token.split('.')[0] })]);
    expect(h.events.filter((e) => e.event === 'session_rejected' && e.path === '/logout')).toEqual([expect.objectContaining({ reason: 'revoked' })]);
  });

  it('someone who learned a session id (it is listed and logged) but not its secret: logout, ending a session or a device and listing them do nothing, an hour later too', async () => {
    const { h, token } = await loggedIn();
    const other = await h.logIn(EMAIL);
    const [device] = ((await (await h.bearer('GET', '/devices', token)).json()) as { devices: Array<{ id: string }> }).devices;
    const [id] = token.split('.') as [string, string];
    const forged = `${id}.${'A'.repeat(43)}`;
    h.clock.now += 2 * HOUR; // the slide is due: a forged token must not move it either
    const before = await dump(h.db);
    expect((await h.bearer('POST', '/logout', forged)).status).toBe(401);
    expect((await h.bearer('DELETE', `/sessions/${other.split('.')[0]}`, forged)).status).toBe(401);
    expect((await h.bearer('GET', '/sessions', forged)).status).toBe(401);
    expect((await h.bearer('DELETE', `/devices/${device!.id}`, forged)).status).toBe(401);
    expect((await h.bearer('GET', '/devices', forged)).status).toBe(401);
    expect(await h.api.endSession(forged, other.split('.')[0]!)).toEqual({ kind: 'unauthenticated' });
    expect(await dump(h.db)).toBe(before);
    expect((await whoAmI(h, token)).status).toBe(200);
    expect((await whoAmI(h, other)).status).toBe(200);
  });

  it('GET /sessions leaves out a session from the moment it expired while idle, though its row is still there', async () => {
    const { h, token } = await loggedIn();
    h.clock.now += 1000;
    const idle = await h.logIn(EMAIL);
    const listed = async () => {
      const res = await h.bearer('GET', '/sessions', token);
      return ((await res.json()) as { sessions: Array<{ id: string; expiresAt: string }> }).sessions;
    };
    const idleExpiry = Date.parse((await listed()).find((s) => s.id === idle.split('.')[0])!.expiresAt);
    // The asking session stays in use (it slides hourly); the other one is never used again.
    for (let day = 1; day <= 6; day++) {
      h.clock.now += DAY;
      expect((await whoAmI(h, token)).status).toBe(200);
    }
    h.clock.now = idleExpiry - 1;
    expect((await listed()).map((s) => s.id)).toContain(idle.split('.')[0]);
    h.clock.now = idleExpiry;
    expect((await listed()).map((s) => s.id)).toEqual([token.split('.')[0]]);
    expect(await count(h, 'SELECT count(*) AS n FROM sessions')).toBe(2);
  });

  it('GET /sessions lists the live sessions with their client addresses; DELETE ends one of them', async () => {
    const { h, token } = await loggedIn();
    h.client.address = '198.51.100.7';
    h.clock.now += 1000;
    const phone = await h.logIn(EMAIL);
    const gone = await h.logIn(EMAIL);
    await h.bearer('POST', '/logout', gone);
    const res = await h.bearer('GET', '/sessions', token);
    expect(res.status).toBe(200);
    const { sessions } = (await res.json()) as { sessions: Array<{ id: string; client: string; current: boolean; lastSeenAt: string }> };
    expect(sessions.map((s) => [s.id, s.client, s.current])).toEqual([
      [phone.split('.')[0], '198.51.100.7', false],
      [token.split('.')[0], '192.0.2.1', true],
    ]);
    expect((await h.bearer('DELETE', `/sessions/${phone.split('.')[0]}`, token)).status).toBe(204);
    expect((await whoAmI(h, phone)).status).toBe(401);
    expect((await h.bearer('DELETE', `/sessions/${phone.split('.')[0]}`, token)).status).toBe(404);
    expect((await h.bearer('DELETE', `/sessions/${'x'.repeat(22)}`, token)).status).toBe(404);
    expect((await h.bearer('DELETE', `/sessions/${'x'.repeat(65)}`, token)).status).toBe(422);
    expect(h.events.filter((e) => e.event === 'session_revoked')).toMatchObject([{ session: phone.split('.')[0] }]);
  });

  it('POST /change-password: 200, the new password works, the old does not, every other session ends, a notice goes out', async () => {
    const { h, token } = await loggedIn();
    const other = await h.logIn(EMAIL);
    const res = await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'changed', sessionsEnded: 1 });
    expect((await whoAmI(h, token)).status).toBe(200);
    expect((await whoAmI(h, other)).status).toBe(401);
    expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(401);
    expect((await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD })).status).toBe(200);
    expect(h.mails.filter((m) => m.template === 'password-changed')).toMatchObject([{ to: EMAIL }]);
    expect(h.mails.every((m) => m.template !== 'password-changed' || m.link === undefined)).toBe(true);
    expect(h.events.filter((e) => e.event === 'session_revoked')).toMatchObject([{ count: 1, reason: 'password-changed' }]);
  });

  it('POST /change-password: a wrong current password is 401 and a weak or missing new one 422, and nothing changes', async () => {
    const { h, token } = await loggedIn();
    const wrong = await h.bearer('POST', '/change-password', token, { currentPassword: OTHER_PASSWORD, newPassword: 'yet another fine passphrase' });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ type: 'urn:latchkey:problem:wrong-password' });
    const weak = await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: 'password' });
    expect(weak.status).toBe(422);
    expect(await weak.json()).toMatchObject({ errors: [{ pointer: '/newPassword' }] });
    expect((await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: EMAIL })).status).toBe(422);
    expect((await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD })).status).toBe(422);
    expect((await h.bearer('POST', '/change-password', token, '{"currentPassword":')).status).toBe(400);
    expect((await h.bearer('POST', '/change-password', token, 'hello', { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(200);
    expect(h.mails.some((m) => m.template === 'password-changed')).toBe(false);
  });

  it('POST /delete-account: 204, and the account, its sessions, devices, registrations and the address\'s throttle rows are gone', async () => {
    const { h, token } = await loggedIn();
    await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD }); // a failure on the address's back-off
    await h.createActiveAccount('other@example.com');
    const bystander = await h.logIn('other@example.com');
    const wrong = await h.bearer('POST', '/delete-account', token, { password: OTHER_PASSWORD });
    expect(wrong.status).toBe(401);
    expect((await h.bearer('POST', '/delete-account', token, {})).status).toBe(422);
    const res = await h.bearer('POST', '/delete-account', token, { password: GOOD_PASSWORD });
    expect(res.status).toBe(204);
    expect((await whoAmI(h, token)).status).toBe(401);
    const left = async (table: string, where: string) => count(h, `SELECT count(*) AS n FROM ${table} WHERE ${where}`);
    expect(await left('accounts', `email_key = '${EMAIL}'`)).toBe(0);
    expect(await left('registrations', `email_key = '${EMAIL}'`)).toBe(0);
    expect(await left('throttle', `key LIKE '%${EMAIL}%'`)).toBe(0);
    expect(await count(h, 'SELECT count(*) AS n FROM sessions')).toBe(1);
    expect(await count(h, 'SELECT count(*) AS n FROM devices')).toBe(1);
    expect((await whoAmI(h, bystander)).status).toBe(200);
    expect(h.mails.filter((m) => m.template === 'account-deleted')).toMatchObject([{ to: EMAIL }]);
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(['account_deleted', 'session_ended']));
  });

  it('the purge drops ended and expired sessions and keeps live ones', async () => {
    const { h, token } = await loggedIn();
    const ended = await h.logIn(EMAIL);
    await h.bearer('POST', '/logout', ended);
    h.clock.now += 6 * DAY;
    const fresh = await h.logIn(EMAIL);
    expect(await purge(h.db, h.clock.now + DAY - 1, 0)).toMatchObject({ sessions: 1 });
    expect(await purge(h.db, h.clock.now + DAY, 0)).toMatchObject({ sessions: 1 });
    expect((await whoAmI(h, token)).status).toBe(401);
    expect((await whoAmI(h, fresh)).status).toBe(200);
  });

  it('endEverySession() is the one statement that ends every session of an account, for another flow\'s batch', async () => {
    const { h, token } = await loggedIn();
    const other = await h.logIn(EMAIL);
    await h.createActiveAccount('other@example.com');
    const bystander = await h.logIn('other@example.com');
    const id = (await h.db.prepare('SELECT id FROM accounts WHERE email_key = ?').bind(EMAIL).first<{ id: string }>())!.id;
    const [result] = await h.db.batch([endEverySession(h.db, id, h.clock.now)]);
    expect(result!.meta.changes).toBe(2);
    for (const t of [token, other]) expect((await whoAmI(h, t)).status).toBe(401);
    expect((await whoAmI(h, bystander)).status).toBe(200);
  });

  it('CORS lets a listed origin send Authorization and DELETE', async () => {
    const h = await createHarness({ CORS_ORIGINS: 'https://app.example.com' });
    const res = await h.app.request('/sessions/abc', {
      method: 'OPTIONS',
      headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'DELETE', 'Access-Control-Request-Headers': 'authorization' },
    });
    expect(res.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(res.headers.get('access-control-allow-methods')).toContain('DELETE');
  });
});
