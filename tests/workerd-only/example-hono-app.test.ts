// examples/hono-app in workerd: its Worker entry (src/worker.ts), bundled as wrangler would and run
// beside the runner (vitest.config.ts, honoAppWorker), over a D1 database of its own. The test is
// a client on this machine: every request comes through the service binding, as from a browser
// under `wrangler dev` (CF-Connecting-IP 127.0.0.1, PUBLIC_ORIGIN on localhost). So Latchkey is in
// development mode and its own GET /auth/dev/mail shows the mailed link; the example has no route
// for tests. The same story as tests/node-only/example-hono-app.test.ts runs on Node.
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';

const ORIGIN = 'http://localhost:8787';
const EMAIL = 'ada@example.com';
const PASSWORD = 'a long enough passphrase at the edge';

const send = (path: string, init: RequestInit = {}) =>
  env.HONO_APP.fetch(new Request(`${ORIGIN}${path}`, { ...init, headers: { 'CF-Connecting-IP': '127.0.0.1', ...init.headers } }));
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  send(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** The activation link in Latchkey's development mailbox, once the mail has been sent. */
async function mailedLink(): Promise<URL> {
  return until(async () => {
    const page = await send('/auth/dev/mail', { headers: { Accept: 'text/html' } });
    expect(page.status).toBe(200);
    const href = /href="(http:\/\/localhost:8787\/auth\/activate\?token=[^"]+)"/.exec(await page.text())?.[1];
    return href ? new URL(href.replaceAll('&amp;', '&')) : undefined;
  }, 'the activation mail in /auth/dev/mail');
}

beforeAll(async () => {
  // What `wrangler d1 migrations apply` does before a deploy: the example does not migrate.
  await applyD1Migrations(env.HONO_APP_DB, env.TEST_MIGRATIONS);
});

describe('examples/hono-app as a Worker over D1', () => {
  it('register → mailed link → activate → login → /api/me → logout → 401', async () => {
    expect((await send('/api/me')).status).toBe(401);
    expect((await post('/auth/register', { email: EMAIL, password: PASSWORD })).status).toBe(202);
    const link = await mailedLink();
    expect(link.origin + link.pathname).toBe(`${ORIGIN}/auth/activate`);
    expect((await post('/auth/activate', { token: link.searchParams.get('token'), password: PASSWORD })).status).toBe(200);
    // The account is in the Worker's D1 binding, not in some database of the isolate's own.
    const row = await env.HONO_APP_DB.prepare('SELECT email, activated_at AS activatedAt FROM accounts').first<{ email: string; activatedAt: number | null }>();
    expect(row).toMatchObject({ email: EMAIL });
    expect(row!.activatedAt).not.toBeNull();

    const login = await post('/auth/login', { email: EMAIL, password: PASSWORD });
    expect(login.status).toBe(200);
    const { token } = ((await login.json()) as { session: { token: string } }).session;

    const me = await send('/api/me', { headers: bearer(token) });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { user: Record<string, string> };
    expect(Object.keys(body.user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
    // The example's own row, written by its onActivated hook before /auth/activate answered.
    expect(body).toMatchObject({ user: { email: EMAIL }, profile: { email: EMAIL, plan: 'free' } });
    expect(JSON.stringify(body)).not.toMatch(/scrypt|token/);
    const byCookie = await send('/api/me', { headers: { Cookie: `__Host-session=${token}` } });
    expect(((await byCookie.json()) as typeof body).user.id).toBe(body.user.id);

    expect((await send('/auth/logout', { method: 'POST', headers: bearer(token) })).status).toBe(204);
    const after = await send('/api/me', { headers: bearer(token) });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
  });

  it("shows the mailbox to this machine only: another client's /auth/dev/mail is Latchkey's 404", async () => {
    expect((await send('/auth/dev/mail', { headers: { 'CF-Connecting-IP': '203.0.113.7' } })).status).toBe(404);
  });
});
