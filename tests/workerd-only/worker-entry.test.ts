// The deployed entry (functions/worker.ts) as workerd runs it: the D1 binding and the [vars] from
// wrangler.toml, with mail going to console.log.
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { backend } from '#backend';
import { env, exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import LatchkeyWorker, { type WorkerEnv } from '../../functions/worker.ts';
import { until } from '../support/until.ts';

const worker = (exports as unknown as { default: { fetch(request: Request): Promise<Response> } }).default;
const post = (path: string, body: unknown) =>
  worker.fetch(new Request(`https://edge.example.test${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }));

beforeEach(async () => {
  await backend.freshDatabase();
});

describe('the Worker entry', () => {
  it('registers with the production scrypt parameters and builds links from PUBLIC_URL, not the request host', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const res = await post('/register', { email: 'edge@example.com', password: 'a password typed at the edge' });
      expect(res.status).toBe(202);
      // The mail leaves the outbox after the answer (waitUntil): wait for its line.
      await until(() => lines.some((l) => l.includes('"event":"mail"')) || undefined, 'the mail line');
    } finally {
      spy.mockRestore();
    }
    const mail = lines.map((l) => JSON.parse(l)).find((l) => l.event === 'mail');
    expect(mail.link).toMatch(/^http:\/\/localhost:8787\/activate\?token=/);
    const row = await env.DB.prepare('SELECT password_hash AS h FROM registrations').first<{ h: string }>();
    expect(row?.h).toMatch(/^\$scrypt\$ln=14,r=8,p=5\$/);

    const token = new URL(mail.link).searchParams.get('token')!;
    expect((await post('/activate', { token, password: 'a password typed at the edge' })).status).toBe(200);
    const login = await post('/login', { email: 'edge@example.com', password: 'a password typed at the edge' });
    expect(login.status).toBe(200);
    expect(login.headers.get('cache-control')).toBe('no-store');
  });
});

describe('the Worker entry as a class (a WorkerEntrypoint, for RPC)', () => {
  it('still runs the crons: the hourly one purges, the every-minute one only drains the outbox', async () => {
    await env.DB.prepare('INSERT INTO throttle (key, hits, wait_until, forget_at) VALUES (?, 1, 0, ?)').bind('mail:old@example.com', Date.now() - 1000).run();
    const spent = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM throttle').first<{ n: number }>())!.n;
    // As workerd does for a cron: a new instance over the env, its scheduled() with the trigger.
    const run = (cron: string) => new LatchkeyWorker(createExecutionContext(), env as unknown as WorkerEnv).scheduled(createScheduledController({ cron }));
    const spy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      await run('* * * * *');
      expect(await spent()).toBe(1);
      await run('17 * * * *');
      expect(await spent()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the Worker entry in development mode (the localhost PUBLIC_URL of wrangler.toml, as npm run dev:edge runs it)', () => {
  const get = (path: string, client?: string) =>
    worker.fetch(new Request(`http://localhost:8787${path}`, { headers: client ? { 'CF-Connecting-IP': client } : {} }));

  it('keeps the mails in the isolate for /dev/mail, across requests, shown to this machine only', async () => {
    // The isolate's deps (and their log sinks) were built by the first request in this file.
    const spy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      for (const who of ['one', 'two']) {
        const res = await post('/register', { email: `${who}@example.com`, password: 'a password typed at the edge' });
        expect(res.status).toBe(202);
        // Each mail leaves the outbox after its answer (waitUntil): wait until the mailbox has it.
        await until(async () => ((await (await get('/dev/mail', '127.0.0.1')).text()).includes(`${who}@example.com`) || undefined), `${who}'s mail`);
      }
      const res = await get('/dev/mail', '127.0.0.1');
      expect(res.status).toBe(200);
      const page = await res.text();
      const order = [...page.matchAll(/<strong>([^<]+)<\/strong>[\s\S]*?<a href="(http:\/\/localhost:8787\/activate\?token=[\w-]{43})">/g)].map((m) => m[1]);
      // Both requests' mails, newest first: one isolate's memory holds them across requests.
      expect(order.slice(0, 2)).toEqual(['two@example.com', 'one@example.com']);
      expect((await get('/dev/mail', '198.51.100.4')).status).toBe(404);
      expect((await get('/dev/mail')).status).toBe(404);
    } finally {
      spy.mockRestore();
    }
  });
});
