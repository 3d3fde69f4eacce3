import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { MAX_BODY_BYTES } from '../functions/app.ts';
import { createHarness, dump, GOOD_PASSWORD } from './support/harness.ts';

type H = Awaited<ReturnType<typeof createHarness>>;

/** One request of every kind the app answers, including errors. */
async function everyKindOfAnswer(h: H): Promise<Array<[string, Response]>> {
  const token = await h.registerAndGetToken('headers@example.com');
  return [
    ['health', await h.get('/health')],
    ['register', await h.post('/register', { email: 'new@example.com', password: GOOD_PASSWORD })],
    ['login 401', await h.post('/login', { email: 'x@example.com', password: GOOD_PASSWORD })],
    ['activate page', await h.get(`/activate?token=${token}`)],
    ['activate invalid page', await h.get('/activate?token=nope')],
    ['activate form', await h.app.request('/activate', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, password: GOOD_PASSWORD }).toString() })],
    ['422', await h.post('/login', { email: 'x' })],
    ['400', await h.post('/login', '{"email":')],
    ['415', await h.app.request('/login', { method: 'POST', body: 'hello', headers: { 'Content-Type': 'text/plain' } })],
    ['404', await h.get('/wp-login.php')],
    ['openapi', await h.get('/openapi.json')],
  ];
}

describe(`headers on every answer (${backend.name})`, () => {
  it('sends secure headers and Cache-Control: no-store everywhere, and no framework banner', async () => {
    const h = await createHarness();
    for (const [name, res] of await everyKindOfAnswer(h)) {
      const header = (n: string) => res.headers.get(n);
      expect(header('cache-control'), name).toBe('no-store');
      expect(header('x-content-type-options'), name).toBe('nosniff');
      expect(header('x-frame-options'), name).toBe('SAMEORIGIN');
      expect(header('strict-transport-security'), name).toMatch(/max-age=\d+/);
      expect(header('referrer-policy'), name).toBe('no-referrer');
      expect(header('cross-origin-opener-policy'), name).toBe('same-origin');
      expect(header('cross-origin-resource-policy'), name).toBe('same-origin');
      expect(header('content-security-policy'), name).toContain("default-src 'none'");
      expect(header('x-powered-by'), name).toBeNull();
      expect(header('server'), name).toBeNull();
      expect(header('access-control-allow-origin'), name).toBeNull();
      await res.arrayBuffer();
    }
  });

  it('serves activation pages with a strict CSP that allows exactly their own inline style, and loads nothing from elsewhere', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('page@example.com');
    for (const res of [await h.get(`/activate?token=${token}`), await h.get('/activate?token=x'), await h.get('/activate')]) {
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const csp = Object.fromEntries(
        res.headers
          .get('content-security-policy')!
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
      expect(csp['default-src']).toEqual(["'none'"]);
      expect(csp['frame-ancestors']).toEqual(["'none'"]);
      expect(csp['base-uri']).toEqual(["'none'"]);
      expect(csp['form-action']).toEqual(["'self'"]);
      expect(csp['script-src']).toBeUndefined(); // falls back to 'none'
      const page = await res.text();
      const styles = [...page.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
      expect(styles).toHaveLength(1);
      expect(csp['style-src']).toEqual([`'sha256-${createHash('sha256').update(styles[0]!).digest('base64')}'`]);
      expect(page).not.toMatch(/<script|<link|<img|<iframe|\bsrc=|style=|https?:\/\//i);
      expect(page).toContain('<meta name="referrer" content="no-referrer">');
    }
  });
});

describe(`inputs (${backend.name})`, () => {
  it('caps bodies at 16 KiB, declared or streamed, before parsing them', async () => {
    const h = await createHarness();
    const padded = (size: number) => {
      const base = JSON.stringify({ email: 'big@example.com', password: GOOD_PASSWORD, pad: '' });
      return base.replace('"pad":""', `"pad":"${'x'.repeat(size - base.length)}"`);
    };
    expect(new TextEncoder().encode(padded(MAX_BODY_BYTES)).length).toBe(MAX_BODY_BYTES);
    const atLimit = await h.post('/register', padded(MAX_BODY_BYTES));
    expect(atLimit.status).toBe(422); // parsed, then refused for the unknown field
    const over = await h.post('/register', padded(MAX_BODY_BYTES + 1));
    expect(over.status).toBe(413);
    expect(await over.json()).toMatchObject({ status: 413, type: 'urn:latchkey:problem:body-too-large' });

    // No Content-Length: the limit counts the bytes as they stream in.
    const bytes = new TextEncoder().encode(padded(MAX_BODY_BYTES * 4));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1000) controller.enqueue(bytes.slice(i, i + 1000));
        controller.close();
      },
    });
    const streamed = await h.app.request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(h.mails).toHaveLength(0);
  });

  it('refuses unknown fields by name with 422, so a typo is never silently ignored', async () => {
    const h = await createHarness();
    const res = await h.post('/register', { email: 'a@example.com', password: GOOD_PASSWORD, pasword: 'x', admin: true });
    expect(res.status).toBe(422);
    const body = (await res.json()) as { errors: Array<{ pointer: string; detail: string }> };
    expect(body.errors).toEqual([
      { pointer: '/pasword', detail: 'Unknown field.' },
      { pointer: '/admin', detail: 'Unknown field.' },
    ]);
    expect((await h.post('/login', { email: 'a@example.com', password: GOOD_PASSWORD, remember: true })).status).toBe(422);
    expect((await h.post('/resend-activation', { email: 'a@example.com', x: 1 })).status).toBe(422);
    expect((await h.post('/activate', { token: 'a'.repeat(43), password: GOOD_PASSWORD, x: 1 })).status).toBe(422);
  });

  it('answers deeply nested JSON with 422 (the schemas are flat; nothing walks the nesting)', async () => {
    const h = await createHarness();
    const depth = 7000;
    const nested = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    expect((await h.post('/register', nested)).status).toBe(422);
    expect((await h.post('/login', `{"email":${nested},"password":"x"}`)).status).toBe(422);
    const objects = `${'{"a":'.repeat(2000)}1${'}'.repeat(2000)}`;
    expect((await h.post('/resend-activation', objects)).status).toBe(422);
    expect((await h.post('/login', JSON.stringify({ email: { email: 'a@example.com' }, password: ['x'] }))).status).toBe(422);
  });

  it('refuses NUL and lone surrogates in every text field, in JSON and in forms', async () => {
    const h = await createHarness();
    const before = await dump(h.db);
    const bad = ['a\u0000b@example.com', 'a\ud800b@example.com', '\udc00', `${GOOD_PASSWORD}\u0000`, `${GOOD_PASSWORD}\udfff`];
    for (const text of bad) {
      for (const [path, body] of [
        ['/register', { email: text, password: GOOD_PASSWORD }],
        ['/register', { email: 'ok@example.com', password: text }],
        ['/login', { email: text, password: GOOD_PASSWORD }],
        ['/login', { email: 'ok@example.com', password: text }],
        ['/resend-activation', { email: text }],
        ['/activate', { token: text, password: GOOD_PASSWORD }],
        ['/activate', { token: 'A'.repeat(43), password: text }],
      ] as const) {
        const res = await h.post(path, body);
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(422);
        const problem = (await res.json()) as { errors: Array<{ pointer: string }> };
        expect(problem.errors.length).toBeGreaterThan(0);
      }
    }
    for (const path of ['/resend-activation', '/activate']) {
      const field = path === '/activate' ? 'token' : 'email';
      const res = await h.app.request(path, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: `${field}=a%00b%40example.com`,
      });
      expect(res.status, path).toBe(422);
    }
    expect(await dump(h.db)).toBe(before);
    expect(h.mails).toHaveLength(0);
  });
});

describe(`CORS (${backend.name})`, () => {
  const preflight = (h: H, origin: string) =>
    h.app.request('/login', {
      method: 'OPTIONS',
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });

  it('is off by default: no CORS header for any origin, and preflights are not answered', async () => {
    const h = await createHarness();
    const res = await preflight(h, 'https://evil.example');
    // OPTIONS is a method /login does not list: 405, naming the one it does, and no CORS header.
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const post = await h.post('/login', { email: 'a@example.com', password: GOOD_PASSWORD }, { Origin: 'https://evil.example' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('allows exactly the origins CORS_ORIGINS lists', async () => {
    const h = await createHarness({ CORS_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    const ok = await preflight(h, 'https://app.example.com');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(ok.headers.get('access-control-allow-methods')).toBe('GET,POST,DELETE');
    // The device token's header too: a web app on a listed origin sends it with its logins.
    expect(ok.headers.get('access-control-allow-headers')?.toLowerCase()).toBe('content-type,authorization,latchkey-device');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();

    const other = await preflight(h, 'https://app.example.com.evil.example');
    expect(other.headers.get('access-control-allow-origin')).toBeNull();

    const post = await h.post('/login', { email: 'a@example.com', password: GOOD_PASSWORD }, { Origin: 'http://localhost:5173' });
    expect(post.status).toBe(401);
    expect(post.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(post.headers.get('vary')).toMatch(/origin/i);
  });

  it('refuses CORS_ORIGINS entries that are not bare origins', async () => {
    for (const bad of ['*', 'app.example.com', 'https://app.example.com/path', 'null']) {
      await expect(createHarness({ CORS_ORIGINS: bad })).rejects.toThrow(/CORS_ORIGINS/);
    }
  });
});
