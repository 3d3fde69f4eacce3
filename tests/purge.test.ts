import { afterEach, describe, expect, it, vi } from 'vitest';
import { backend } from '#backend';
import { workerHandlers as worker } from '../functions/worker-handlers.ts';
import { DEFAULT_PURGE_GRACE_SECONDS, DEFAULT_TOKEN_TTL_SECONDS } from '../lib/config/config.ts';
import { purge } from '../lib/flows/purge.ts';
import { authenticate } from '../lib/flows/sessions.ts';
import { createHarness, GOOD_PASSWORD, harnessOn, PUBLIC_URL } from './support/harness.ts';

const DAY = 86_400_000;
const count = async (h: Awaited<ReturnType<typeof createHarness>>, table: string) =>
  (await h.db.prepare(`SELECT count(*) AS n FROM ${table}`).first<{ n: number }>())!.n;

describe(`purge (${backend.name})`, () => {
  afterEach(() => vi.restoreAllMocks());

  it('drops expired pending registrations only after the grace period', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('late@example.com');
    const expiresAt = h.clock.now + DEFAULT_TOKEN_TTL_SECONDS * 1000;

    expect(await purge(h.db, expiresAt + 1000, DEFAULT_PURGE_GRACE_SECONDS)).toMatchObject({ registrations: 0 });
    h.clock.now = expiresAt + 1000;
    expect((await h.get(`/activate?token=${token}`)).status).toBe(410); // still "expired, ask again"

    const later = expiresAt + DEFAULT_PURGE_GRACE_SECONDS * 1000;
    expect(await purge(h.db, later, DEFAULT_PURGE_GRACE_SECONDS)).toMatchObject({ registrations: 1 });
    expect(await count(h, 'registrations')).toBe(0);
  });

  it('drops reset links expired or used more than the grace period ago, and keeps a working one', async () => {
    const h = await createHarness();
    await h.createActiveAccount('reset@example.com');
    const used = await h.forgotAndGetToken('reset@example.com');
    expect((await h.post('/reset-password', { token: used, password: 'seven quiet otters under the bridge' })).status).toBe(200);
    const usedAt = h.clock.now;
    await h.forgotAndGetToken('reset@example.com'); // expires an hour later
    h.clock.now += 30 * 60 * 1000;
    await h.forgotAndGetToken('reset@example.com'); // still working at the second purge below
    const grace = 60;
    expect(await purge(h.db, usedAt + grace * 1000 - 1, grace)).toMatchObject({ resets: 0 });
    expect(await purge(h.db, usedAt + grace * 1000, grace)).toMatchObject({ resets: 1 });
    expect(await purge(h.db, usedAt + 3600_000 + grace * 1000, grace)).toMatchObject({ resets: 1 });
    expect(await count(h, 'password_resets')).toBe(1);
    expect(await count(h, 'accounts')).toBe(1);
  });

  it('drops used links after the grace period, and never touches an active account', async () => {
    const h = await createHarness();
    await h.createActiveAccount('kept@example.com');
    await h.post('/register', { email: 'kept@example.com', password: 'another long passphrase here' }); // no new row: active
    await h.createActiveAccount('also-kept@example.com');
    await h.registerAndGetToken('waiting@example.com');
    const accountsBefore = (await h.db.prepare('SELECT * FROM accounts ORDER BY id').all()).results;

    const far = h.clock.now + 400 * DAY;
    const removed = await purge(h.db, far, DEFAULT_PURGE_GRACE_SECONDS);
    expect(removed.registrations).toBe(3);
    expect((await h.db.prepare('SELECT * FROM accounts ORDER BY id').all()).results).toEqual(accountsBefore);

    h.clock.now = far;
    expect((await h.post('/login', { email: 'kept@example.com', password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'also-kept@example.com', password: GOOD_PASSWORD })).status).toBe(200);
  });

  it('keeps a used link answering "already active" during the grace period', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('twice@example.com');
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
    await purge(h.db, h.clock.now + DAY, DEFAULT_PURGE_GRACE_SECONDS);
    expect(await (await h.post('/activate', { token, password: GOOD_PASSWORD })).json()).toEqual({ status: 'active' });
  });

  it('drops throttle rows whose window or back-off is over, and keeps live ones', async () => {
    const h = await createHarness({ LIMIT_LOGIN_PER_CLIENT: '100/60' });
    await h.post('/login', { email: 'a@example.com', password: GOOD_PASSWORD });
    const rows = await count(h, 'throttle');
    expect(rows).toBe(2); // the client's window and the address's failure count
    expect(await purge(h.db, h.clock.now + 30_000, 0)).toMatchObject({ throttle: 0 });
    expect(await purge(h.db, h.clock.now + 61_000, 0)).toMatchObject({ throttle: 1 });
    expect(await purge(h.db, h.clock.now + 2 * DAY, 0)).toMatchObject({ throttle: 1 });
    expect(await count(h, 'throttle')).toBe(0);
  });

  it('keeps a session that a raised SESSION_IDLE_SECONDS still accepts, and drops it when the policy of the moment ends it', async () => {
    const h = await createHarness({ SESSION_IDLE_SECONDS: String(7 * 86_400) });
    await h.createActiveAccount('kept@example.com');
    const token = await h.logIn('kept@example.com');
    const loginAt = h.clock.now;
    // The operator doubles the idle timeout; the session was written under the old one.
    const raised = harnessOn(h.db, { SESSION_IDLE_SECONDS: String(14 * 86_400) });
    const policy = raised.deps.config.sessions;
    raised.clock.now = loginAt + 8 * DAY;
    expect((await authenticate(raised.db, token, policy, raised.clock.now)).ok).toBe(true);
    expect(await purge(raised.db, raised.clock.now, 0, policy)).toMatchObject({ sessions: 0 });
    expect((await raised.bearer('GET', '/session', token)).status).toBe(200); // and "last seen" is now day 8
    expect(await purge(raised.db, loginAt + 22 * DAY - 1, 0, policy)).toMatchObject({ sessions: 0 });
    expect(await purge(raised.db, loginAt + 22 * DAY, 0, policy)).toMatchObject({ sessions: 1 });
  });

  it('drops a session used every half day at its absolute end, however recently it was seen', async () => {
    const h = await createHarness({ SESSION_IDLE_SECONDS: String(86_400), SESSION_MAX_SECONDS: String(3 * 86_400) });
    await h.createActiveAccount('busy@example.com');
    const token = await h.logIn('busy@example.com');
    const loginAt = h.clock.now;
    for (let half = 1; half <= 5; half++) {
      h.clock.now = loginAt + (half * DAY) / 2;
      expect((await h.bearer('GET', '/session', token)).status).toBe(200);
    }
    const policy = h.deps.config.sessions;
    expect(await purge(h.db, loginAt + 3 * DAY - 1, 0, policy)).toMatchObject({ sessions: 0 });
    expect(await purge(h.db, loginAt + 3 * DAY, 0, policy)).toMatchObject({ sessions: 1 });
  });

  it('keeps an ended session for the grace period, so a use of it is still logged as revoked, then drops it', async () => {
    const h = await createHarness();
    await h.createActiveAccount('ended@example.com');
    const token = await h.logIn('ended@example.com');
    expect((await h.bearer('POST', '/logout', token)).status).toBe(204);
    const endedAt = h.clock.now;
    const grace = 3600;
    const rejections = () => h.events.filter((e) => e.event === 'session_rejected').map((e) => e.reason);
    expect(await purge(h.db, endedAt + grace * 1000 - 1, grace)).toMatchObject({ sessions: 0 });
    h.clock.now = endedAt + grace * 1000 - 1;
    expect((await h.bearer('GET', '/session', token)).status).toBe(401);
    expect(rejections()).toEqual(['revoked']);
    expect(await purge(h.db, endedAt + grace * 1000, grace)).toMatchObject({ sessions: 1 });
    h.clock.now = endedAt + grace * 1000;
    expect((await h.bearer('GET', '/session', token)).status).toBe(401);
    expect(rejections()).toEqual(['revoked', 'unknown']);
  });

  it('works through rows in slices, so a large backlog goes in one run', async () => {
    const h = await createHarness({ LIMIT_RESEND_PER_CLIENT: 'off' });
    const statements = Array.from({ length: 1200 }, (_, i) =>
      h.db.prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, ?)').bind(`client:resend:${i}`, h.clock.now),
    );
    await h.db.batch(statements);
    expect(await purge(h.db, h.clock.now + 1, 0)).toEqual({ registrations: 0, throttle: 1200, devices: 0, resets: 0, emailChanges: 0, sessions: 0, challenges: 0 });
  });

  it('runs from the hourly Workers cron trigger and logs one purge event; the every-minute one only sends mail', async () => {
    const db = await backend.freshDatabase();
    await db
      .prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, ?)')
      .bind('mail:old@example.com', Date.now() - 1000)
      .run();
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const env = { DB: db, PUBLIC_URL };
    await worker.scheduled({ cron: '* * * * *', scheduledTime: Date.now(), noRetry() {} } as ScheduledController, env);
    const controller = { cron: '17 * * * *', scheduledTime: Date.now(), noRetry() {} } as ScheduledController;
    await worker.scheduled(controller, env);
    const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    // A fresh isolate first says its mode (functions/worker-handlers.ts), then purges.
    expect(events.filter((e) => e.event !== 'worker_started')).toEqual([expect.objectContaining({ event: 'purge', registrations: 0, throttle: 1, trigger: 'cron' })]);
  });
});
