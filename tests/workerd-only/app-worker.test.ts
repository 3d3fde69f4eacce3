// examples/app-worker, a second Worker whose service binding AUTH points at Latchkey's (vitest.config.ts
// bundles it and runs it beside the runner): its /api/me asks Latchkey over RPC. The story crosses
// both Workers as a deployment would: Latchkey's own HTTP API for the account and the login, the
// app's Worker for its route, and RPC between them.
import { backend } from '#backend';
import { env, exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { until } from '../support/until.ts';

const EMAIL = 'rpc@example.com';
const PASSWORD = 'a password typed at the edge';

const latchkey = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const post = (path: string, body: unknown) =>
  latchkey.fetch(new Request(`https://edge.example.test${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const app = (path: string, init: RequestInit = {}) => env.APP_WORKER.fetch(new Request(`https://app.example.test${path}`, init));

/** register → the mailed link (Latchkey's log transport writes it as a console.log line) → activate → login. */
async function signUp(lines: string[]): Promise<string> {
  expect((await post('/register', { email: EMAIL, password: PASSWORD })).status).toBe(202);
  // The mail leaves the outbox after the answer (waitUntil): wait for its line.
  const mail = await until(() => lines.map((l) => JSON.parse(l) as { event: string; to?: string; link?: string }).find((l) => l.event === 'mail' && l.to === EMAIL), 'the activation mail');
  const token = new URL(mail.link!).searchParams.get('token')!;
  expect((await post('/activate', { token, password: PASSWORD })).status).toBe(200);
  const login = await post('/login', { email: EMAIL, password: PASSWORD });
  expect(login.status).toBe(200);
  return ((await login.json()) as { session: { token: string } }).session.token;
}

beforeEach(async () => {
  await backend.freshDatabase();
});

describe('another Worker calling Latchkey over a service binding (examples/app-worker)', () => {
  it("register → activate → login → the app's /api/me by RPC shows the user, no hash → revokeSession → 401", async () => {
    const lines: string[] = [];
    // The isolate's Latchkey may have been built by an earlier file's request (functions/worker-handlers.ts
    // keeps it for the env); its lines still go to console.log as it is when each is written (lib/log.ts).
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      expect((await app('/api/me')).status).toBe(401);
      const token = await signUp(lines);

      const me = await app('/api/me', { headers: bearer(token) });
      expect(me.status).toBe(200);
      const text = await me.text();
      // What Latchkey's GET /session answers for the same token, to the letter.
      const official = await (await latchkey.fetch(new Request('https://edge.example.test/session', { headers: bearer(token) }))).json();
      expect(JSON.parse(text)).toEqual(official);
      expect(JSON.parse(text)).toMatchObject({ user: { email: EMAIL } });
      const hash = (await env.DB.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;
      expect(text).not.toContain(hash);
      expect(text).not.toContain(token.split('.')[1]);

      // A token that names no session: null over RPC, the app's 401, and Latchkey's log says why.
      expect((await app('/api/me', { headers: bearer(`${token}x`) })).status).toBe(401);

      // The app's logout ends the session through Latchkey's revokeSession: dead for both Workers.
      expect((await app('/api/logout', { method: 'POST', headers: bearer(token) })).status).toBe(204);
      expect((await app('/api/me', { headers: bearer(token) })).status).toBe(401);
      expect((await latchkey.fetch(new Request('https://edge.example.test/session', { headers: bearer(token) }))).status).toBe(401);
      expect((await app('/api/logout', { method: 'POST', headers: bearer(token) })).status).toBe(401);

      const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(events.filter((e) => e.via === 'rpc').map((e) => [e.event, e.reason])).toEqual([
        ['session_rejected', 'malformed'],
        ['session_ended', 'logout'],
        ['session_rejected', 'revoked'],
        ['session_rejected', 'revoked'],
      ]);
      // Only the activation mail's line carries a link token; no line carries the session's secret.
      expect(lines.filter((l) => l.includes(token.split('.')[1]!))).toEqual([]);
    } finally {
      spy.mockRestore();
    }
  });
});
