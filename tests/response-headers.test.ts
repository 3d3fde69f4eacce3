import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { MAX_BODY_BYTES } from '../functions/app.ts';
import { DEMO_CSP } from '../lib/pages/demo-page.ts';
import { RESPONSE_HEADERS } from '../lib/http/security-headers.ts';
import { createHarness, GOOD_PASSWORD } from './support/harness.ts';

// The app hands these headers to each response as it is made (a speed-up, see
// lib/http/security-headers.ts), so every way a response comes about is checked here.
describe(`headers on every response (${backend.name})`, () => {
  it('are on JSON answers, pages, and every kind of problem', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('ada@example.com');
    const responses: Record<string, Response> = {
      json: await h.get('/health'),
      page: await h.get(`/activate?token=${token}`),
      openapi: await h.get('/openapi.json'),
      notFound: await h.get('/nowhere'),
      unknownToken: await h.post('/activate', { token: 'A'.repeat(43), password: GOOD_PASSWORD }),
      invalid: await h.post('/register', { email: 'not an address', password: GOOD_PASSWORD }),
      unsupported: await h.post('/register', 'hello', { 'Content-Type': 'text/plain' }),
      malformed: await h.post('/register', '{"email":', {}),
      tooLarge: await h.post('/register', JSON.stringify({ email: 'a'.repeat(MAX_BODY_BYTES) })),
    };
    expect(Object.fromEntries(Object.entries(responses).map(([k, r]) => [k, r.status]))).toEqual({
      json: 200,
      page: 200,
      openapi: 200,
      notFound: 404,
      unknownToken: 400,
      invalid: 422,
      unsupported: 415,
      malformed: 400,
      tooLarge: 413,
    });
    for (const [kind, res] of Object.entries(responses)) {
      for (const [name, value] of RESPONSE_HEADERS) expect([kind, name, res.headers.get(name)]).toEqual([kind, name, value]);
    }
    expect(responses.page!.headers.get('content-security-policy')).toMatch(/^default-src 'none'; style-src 'sha256-/);
    expect(responses.unknownToken!.headers.get('content-type')).toBe('application/problem+json');
  });

  // The responder makes its answers with the headers in one record; these are made some other way
  // (Hono's own HEAD and CORS answers, routes that answer with c.body) and get them afterwards.
  it('are on answers made outside the responder too, and a route can override one', async () => {
    const h = await createHarness({ CORS_ORIGINS: 'https://app.example.com' });
    const responses: Record<string, Response> = {
      script: await h.get('/demo.js'),
      demoPage: await h.get('/'),
      head: await h.app.request('/health', { method: 'HEAD' }),
      preflight: await h.app.request('/login', {
        method: 'OPTIONS',
        headers: { Origin: 'https://app.example.com', 'Access-Control-Request-Method': 'POST' },
      }),
      corsAnswer: await h.post('/login', { email: 'a@example.com', password: GOOD_PASSWORD }, { Origin: 'https://app.example.com' }),
    };
    expect(Object.fromEntries(Object.entries(responses).map(([k, r]) => [k, r.status]))).toEqual({
      script: 200,
      demoPage: 200,
      head: 200,
      preflight: 204,
      corsAnswer: 401,
    });
    for (const [kind, res] of Object.entries(responses)) {
      for (const [name, value] of RESPONSE_HEADERS) {
        const expected = kind === 'demoPage' && name === 'Content-Security-Policy' ? DEMO_CSP : value;
        expect([kind, name, res.headers.get(name)]).toEqual([kind, name, expected]);
      }
    }
    expect(responses.corsAnswer!.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(responses.script!.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
  });

  it('refuses a body by its declared length before reading it', async () => {
    const h = await createHarness();
    const res = await h.post('/register', JSON.stringify({ email: 'ada@example.com', password: GOOD_PASSWORD }), {
      'Content-Length': String(MAX_BODY_BYTES + 1),
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ status: 413 });
    expect(h.hashes.hash).toBe(0);
  });
});
