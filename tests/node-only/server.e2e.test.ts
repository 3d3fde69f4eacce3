import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startServer } from '../../scripts/support/server-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const json = (body: unknown) => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('npm start, over HTTP', () => {
  it('registers, mails a link to stdout, serves the page, activates by its form, logs in, and survives a restart', async () => {
    const databasePath = join(dir, 'accounts.sqlite');
    const env = { DATABASE_PATH: databasePath, PUBLIC_URL: 'http://links.example.test:9999' };
    let server = await startServer(env);
    const password = 'an unguessable walk along the pier';

    const reg = await fetch(`${server.url}/register`, json({ email: 'e2e@example.com', password }));
    expect(reg.status).toBe(202);
    const mail = await server.waitForLine((l) => l.event === 'mail');
    expect(mail).toMatchObject({ template: 'activation', to: 'e2e@example.com' });
    const link = String(mail.link);
    // Built from PUBLIC_URL, not from the Host the request came in on.
    expect(link.startsWith('http://links.example.test:9999/activate?token=')).toBe(true);
    const token = new URL(link).searchParams.get('token')!;

    const page = await fetch(`${server.url}/activate?token=${token}`);
    expect(page.status).toBe(200);
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).toContain('e2e@example.com');
    const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
    const hidden = /name="token" value="([^"]+)"/.exec(html)?.[1];
    expect(hidden).toBe(token);

    const posted = await fetch(new URL(action!, `${server.url}/activate`), {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: hidden!, password }),
    });
    expect(posted.status).toBe(200);
    expect(await posted.text()).toContain('Account activated');

    const login = await fetch(`${server.url}/login`, json({ email: 'E2E@example.com', password }));
    expect(login.status).toBe(200);
    expect(((await login.json()) as { user: { email: string } }).user.email).toBe('e2e@example.com');

    // No line the server wrote carries the password or the token, except the mail's link.
    const others = server.lines.filter((l) => l.event !== 'mail').map((l) => JSON.stringify(l));
    expect(others.join('\n')).not.toContain(password);
    expect(others.join('\n')).not.toContain(token);

    // SIGTERM to npm alone, as a process manager sends it: it must reach the server (the start
    // script execs node, so no shell sits between them) and stop it gracefully.
    server.child.kill('SIGTERM');
    await server.exited;
    expect(server.lines.at(-1)).toMatchObject({ event: 'server_stopped' });

    server = await startServer(env);
    const again = await fetch(`${server.url}/login`, json({ email: 'e2e@example.com', password }));
    expect(again.status).toBe(200);
    await server.stop('SIGINT');
    expect(server.lines.at(-1)).toMatchObject({ event: 'server_stopped' });
  }, 60_000);

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    // The production scrypt cost makes the registration slow enough to be in flight for sure.
    const server = await startServer(
      { DATABASE_PATH: join(dir, 'inflight.sqlite'), SCRYPT_LOG_N: '14', SCRYPT_R: '8', SCRYPT_P: '5' },
      [process.execPath, '--disable-warning=ExperimentalWarning', 'functions/server.ts'],
    );
    const body = JSON.stringify({ email: 'late@example.com', password: 'a request that arrives just in time' });
    let sent!: () => void;
    const written = new Promise<void>((resolve) => (sent = resolve));
    const pending = new Promise<number>((resolve, reject) => {
      const req = request(`${server.url}/register`, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body, sent);
    });
    // The whole request is on the wire; give the server a moment to take it up, then stop it.
    await written;
    await new Promise((resolve) => setTimeout(resolve, 20));
    server.child.kill('SIGTERM');
    expect(await pending).toBe(202);
    expect(await server.exited).toBe(0);
    // The request really was in flight: its work finished after the signal arrived.
    const stopping = server.lines.findIndex((l) => l.event === 'server_stopping');
    const registered = server.lines.findIndex((l) => l.event === 'registered');
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(registered).toBeGreaterThan(stopping);
    expect(server.lines.some((l) => l.event === 'mail' && l.to === 'late@example.com')).toBe(true);
  }, 60_000);
});
