import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { jsonEventLog } from '../lib/log.ts';
import { tokenDigest } from '../lib/crypto/tokens.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink } from './support/harness.ts';

describe(`security events (${backend.name})`, () => {
  it('logs one event per security-relevant step, each naming the client address', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '2/3600' });
    h.client.address = '203.0.113.9';
    const token = await h.registerAndGetToken('audit@example.com');
    await h.post('/activate', { token, password: GOOD_PASSWORD });
    await h.post('/login', { email: 'audit@example.com', password: GOOD_PASSWORD });
    await h.post('/login', { email: 'audit@example.com', password: OTHER_PASSWORD });
    await h.post('/register', { email: 'audit@example.com', password: OTHER_PASSWORD });
    await h.post('/register', { email: 'audit@example.com', password: OTHER_PASSWORD }); // over the mail allowance: no mail

    const names = h.events.map((e) => e.event);
    expect(names).toEqual(['registered', 'activated', 'login_ok', 'session_created', 'login_failed', 'register_existing', 'throttled', 'register_existing']);
    for (const event of h.events) expect(event.client).toBe('203.0.113.9');
    const accountId = h.events.find((e) => e.event === 'activated')!.accountId;
    expect(accountId).toMatch(/^[0-9a-f-]{36}$/);
    for (const name of ['login_ok', 'login_failed', 'register_existing']) {
      expect(h.events.find((e) => e.event === name)!.accountId, name).toBe(accountId);
    }
    expect(h.events.at(-2)).toMatchObject({ rule: 'mail', path: '/register' });
    expect(h.mails.map((m) => m.template)).toEqual(['activation', 'already-registered']);
  });

  it('never puts a password, a hash or a token into an event, a response, or a mail other than the link itself', async () => {
    const h = await createHarness();
    const seen: string[] = [];
    const record = async (res: Response) => {
      seen.push(JSON.stringify([...res.headers]), await res.text());
      return res;
    };
    await record(await h.post('/register', { email: 'secret@example.com', password: GOOD_PASSWORD }));
    await record(await h.post('/register', { email: 'secret@example.com', password: OTHER_PASSWORD }));
    const token = tokenFromLink(h.mails[0]!.link);
    const second = tokenFromLink(h.mails[1]!.link);
    await record(await h.post('/login', { email: 'secret@example.com', password: GOOD_PASSWORD })); // 401: not active yet
    await record(await h.post('/resend-activation', { email: 'secret@example.com' }));
    await record(await h.get(`/activate?token=${token}`));
    await record(await h.post('/activate', { token: second, password: GOOD_PASSWORD })); // 422: not its registration's
    await record(await h.post('/activate', { token, password: GOOD_PASSWORD }));
    await record(await h.post('/activate', { token, password: GOOD_PASSWORD }));
    await record(await h.post('/login', { email: 'secret@example.com', password: OTHER_PASSWORD }));
    await record(await h.post('/login', { email: 'secret@example.com', password: GOOD_PASSWORD }));
    await record(await h.post('/register', { email: 'secret@example.com', password: OTHER_PASSWORD }));
    await record(await h.post('/login', { email: 'secret@example.com', password: `${GOOD_PASSWORD}!` }));

    const hashes = (await h.db.prepare('SELECT password_hash AS h FROM accounts UNION ALL SELECT password_hash FROM registrations').all<{ h: string }>()).results.map((r) => r.h);
    const tokenHashes = (await h.db.prepare('SELECT token_hash AS t FROM registrations').all<{ t: string }>()).results.map((r) => r.t);
    const links = h.mails.flatMap((m) => (m.link ? [tokenFromLink(m.link)] : []));
    const secrets = [GOOD_PASSWORD, OTHER_PASSWORD, ...hashes, ...hashes.map((x) => x.split('$').at(-1)!), ...tokenHashes, ...links];
    expect(links).toContain(second);

    const events = JSON.stringify(h.events);
    const mailsWithoutLinks = JSON.stringify(h.mails.map(({ link, text, html, ...rest }) => ({ ...rest, text: link ? text.replaceAll(link, '') : text, html: link ? html.replaceAll(link, '') : html })));
    const responses = seen.join('\n');
    const activationPage = seen.find((s) => s.includes('<form'))!;
    for (const secret of secrets) {
      expect(events, 'events').not.toContain(secret);
      expect(mailsWithoutLinks, 'mails').not.toContain(secret);
      // The confirmation page must carry its own token in the form; nothing else may.
      expect(responses.replace(activationPage, ''), 'responses').not.toContain(secret);
    }
    expect(activationPage).not.toContain(GOOD_PASSWORD);
    expect(events).not.toContain('$scrypt$');
    expect(responses).not.toContain('$scrypt$');
  });

  it('a password reset puts no password, hash or token anywhere but the link and its own page', async () => {
    const h = await createHarness();
    await h.createActiveAccount('secret@example.com');
    const NEW = 'seven quiet otters under the bridge';
    const seen: string[] = [];
    const record = async (res: Response) => void seen.push(JSON.stringify([...res.headers]), await res.text());
    const oldHash = (await h.db.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;
    await record(await h.post('/forgot-password', { email: 'secret@example.com' }));
    const token = tokenFromLink(h.mails.at(-1)!.link);
    const page = await (await h.get(`/reset-password?token=${token}`)).text();
    await record(await h.post('/reset-password', { token, password: 'short' }));
    await record(await h.post('/reset-password', { token, password: NEW }));
    await record(await h.post('/reset-password', { token, password: NEW }));
    const newHash = (await h.db.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;
    const tokenHash = (await h.db.prepare('SELECT token_hash AS t FROM password_resets').first<{ t: string }>())!.t;
    const events = JSON.stringify(h.events);
    const mailsWithoutLinks = JSON.stringify(h.mails.map(({ link, text, html, ...rest }) => ({ ...rest, text: link ? text.replaceAll(link, '') : text, html: link ? html.replaceAll(link, '') : html })));
    for (const secret of [GOOD_PASSWORD, NEW, oldHash, newHash, tokenHash, token]) {
      expect(events, 'events').not.toContain(secret);
      expect(mailsWithoutLinks, 'mails').not.toContain(secret);
      expect(seen.join('\n'), 'responses').not.toContain(secret);
    }
    for (const secret of [GOOD_PASSWORD, NEW, oldHash, newHash, tokenHash]) expect(page).not.toContain(secret);
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(['password_reset_requested', 'password_reset', 'password_reset_refused']));
  });

  it('never puts a device token or its digest into an event, a mail, or any answer but the login\'s that issued it', async () => {
    const h = await createHarness({ DEVICE_MAX_FAILURES: '2' });
    await h.createActiveAccount('secret@example.com');
    const issued = (await (await h.post('/login', { email: 'secret@example.com', password: GOOD_PASSWORD })).json()) as { device: { token: string }; session: { token: string } };
    const first = issued.device.token;
    const seen: string[] = [];
    const keep = async (res: Response) => (seen.push(JSON.stringify([...res.headers]), await res.text()), res);
    const second = ((await (await h.post('/login', { email: 'secret@example.com', password: GOOD_PASSWORD }, { [DEVICE_HEADER]: first })).json()) as { device: { token: string } }).device.token;
    for (let i = 0; i < 3; i++) await keep(await h.post('/login', { email: 'secret@example.com', password: OTHER_PASSWORD }, { [DEVICE_HEADER]: second }));
    const listed = await keep(await h.bearer('GET', '/devices', issued.session.token, undefined, { [DEVICE_HEADER]: second }));
    expect(listed.status).toBe(200);
    const { devices } = JSON.parse(seen.at(-1)!) as { devices: Array<{ id: string }> };
    const digests = (await h.db.prepare('SELECT token_hash AS d FROM devices').all<{ d: string }>()).results.map((r) => r.d);
    await keep(await h.bearer('DELETE', `/devices/${devices[0]!.id}`, issued.session.token));
    const everything = [JSON.stringify(h.events), JSON.stringify(h.mails), ...seen].join('\n');
    for (const secret of [first, second, tokenDigest(first), tokenDigest(second), ...digests]) expect(everything).not.toContain(secret);
    expect(h.events.map((e) => e.event)).toEqual(expect.arrayContaining(['login_ok', 'login_failed', 'device_locked', 'device_revoked']));
  });

  it('never puts a session token, its secret or its digest into an event, a mail, or any answer but the login\'s', async () => {
    const h = await createHarness();
    await h.createActiveAccount('secret@example.com');
    const login = await h.post('/login', { email: 'secret@example.com', password: GOOD_PASSWORD });
    const token = ((await login.json()) as { session: { token: string } }).session.token;
    const other = await h.logIn('secret@example.com');
    const seen: string[] = [];
    for (const res of [
      await h.bearer('GET', '/session', token),
      await h.bearer('GET', '/sessions', token),
      await h.bearer('POST', '/change-password', token, { currentPassword: OTHER_PASSWORD, newPassword: OTHER_PASSWORD }),
      await h.bearer('POST', '/change-password', token, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD }),
      await h.bearer('GET', '/session', other), // ended by the change: a revoked token in use
      await h.bearer('POST', '/logout', token),
      await h.bearer('GET', '/session', token),
    ]) {
      seen.push(JSON.stringify([...res.headers]), await res.text());
    }
    const digests = (await h.db.prepare('SELECT secret_hash AS d FROM sessions').all<{ d: string }>()).results.map((r) => r.d);
    const secrets = [token, other, token.split('.')[1]!, other.split('.')[1]!, ...digests];
    expect(digests).toHaveLength(2);
    const everything = [JSON.stringify(h.events), JSON.stringify(h.mails), ...seen].join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
    expect(h.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['session_created', 'password_change_failed', 'password_changed', 'session_revoked', 'session_rejected', 'session_ended']),
    );
  });

  it('writes each event as one JSON line', () => {
    const lines: string[] = [];
    const log = jsonEventLog((l) => lines.push(l), () => Date.UTC(2026, 0, 1));
    log('throttled', { client: '192.0.2.1', rule: 'login', retryAfter: 30 });
    expect(lines).toEqual(['{"event":"throttled","at":"2026-01-01T00:00:00.000Z","client":"192.0.2.1","rule":"login","retryAfter":30}']);
  });
});
