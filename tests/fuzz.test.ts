/**
 * Random requests at every endpoint, on both backends: random methods, paths, headers and bodies.
 * Whatever arrives, the answer is never a 5xx; garbage never gets a 2xx; and a refused request
 * never changes the accounts or registrations (the throttle table's job is to count requests, so
 * it is left out of the comparison and throttling is switched off here to reach the handlers).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD, NO_LIMITS, type Harness } from './support/harness.ts';

const RUNS = 200;
const ENDPOINTS = ['/register', '/login', '/login/mfa', '/resend-activation', '/activate', '/forgot-password', '/reset-password', '/health', '/openapi.json'];
const KNOWN_EMAILS = ['active@example.com', 'pending@example.com', 'ACTIVE@example.com'];

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

// Only methods that both runtimes' Request accepts: the others never reach an app.
const method = fc.oneof(
  { arbitrary: fc.constant('POST'), weight: 6 },
  { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'get'), weight: 2 },
);

// Mostly the real endpoints, so that most requests reach a handler rather than the 404.
const path = fc.oneof(
  { arbitrary: fc.constantFrom('/register', '/login', '/login/mfa', '/resend-activation', '/activate', '/forgot-password', '/reset-password'), weight: 10 },
  { arbitrary: fc.constantFrom(...ENDPOINTS), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom(...ENDPOINTS), fc.webQueryParameters()).map(([p, q]) => `${p}?${q}`), weight: 2 },
  { arbitrary: fc.tuple(fc.constantFrom(...ENDPOINTS), fc.string({ maxLength: 12 })).map(([p, s]) => `${p}${encodeURIComponent(s)}`), weight: 1 },
  {
    arbitrary: fc.constantFrom('/', '//login', '/LOGIN', '/login/', '/%', '/%zz', '/activate%00', '/..%2f..%2fetc/passwd', '/activate?token=%E0%A4%A'),
    weight: 1,
  },
  { arbitrary: fc.webPath(), weight: 1 },
);

const headerName = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/).filter((n) => n !== 'content-length' && n !== 'transfer-encoding' && n !== 'host');
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,60}$/).map((v) => v.trim());
const contentType = fc.constantFrom(
  'application/json',
  'application/json',
  'application/json',
  'application/json; charset=utf-8',
  'application/x-www-form-urlencoded',
  'application/problem+json',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=xyz',
  'application/octet-stream',
  'APPLICATION/JSON',
  'application/jsonx',
);
const headers = fc
  .tuple(
    fc.option(contentType, { nil: undefined, freq: 8 }),
    fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    fc.option(fc.constantFrom('https://evil.example', 'null', 'http://localhost'), { nil: undefined }),
    fc.option(fc.constantFrom('1.2.3.4', '::1', 'not an ip', '1.2.3.4, 5.6.7.8'), { nil: undefined }),
  )
  .map(([type, extra, origin, xff]) => ({
    ...extra,
    ...(type ? { 'content-type': type } : {}),
    ...(origin ? { origin } : {}),
    ...(xff ? { 'x-forwarded-for': xff, 'cf-connecting-ip': xff } : {}),
  }));

const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...KNOWN_EMAILS, GOOD_PASSWORD, '', '\u0000', '\ud800'));
const anyJson = fc.oneof(text, fc.jsonValue({ maxDepth: 3 }));

/** Bodies that no endpoint may accept: not an object, a field of the wrong type, or an unknown field. */
const garbageJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)),
  fc.record({ email: anyJson, password: anyJson, token: anyJson, surplus: anyJson }, { requiredKeys: ['surplus'] }),
  fc.record({ email: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 2 })), password: anyJson, token: fc.integer() }),
  fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !['email', 'password', 'token'].includes(k)), anyJson, { minKeys: 1, maxKeys: 3 }),
);

const garbageBody = fc.oneof(
  garbageJson.map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }),
  fc.constantFrom('{', '{"email":', '[]', 'null', '"x"', '1e999', '{"__proto__":{"x":1}}', 'email=&password=&surplus=1', 'token=abc&token=def&x=1'),
  fc.constantFrom('[', '{"a":').map((open) => `${open.repeat(3000)}`),
);

/** Bodies that may even be valid: known addresses, random passwords and tokens. */
const anyBody = fc.oneof(
  garbageBody,
  fc.record({ email: anyJson, password: anyJson }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  fc.record({ email: fc.constantFrom(...KNOWN_EMAILS), password: fc.oneof(fc.constant(GOOD_PASSWORD), fc.string()) }).map((v) => JSON.stringify(v)),
  fc.record({ token: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) }).map((v) => JSON.stringify(v)),
);

function request(body: fc.Arbitrary<string | Uint8Array>): fc.Arbitrary<FuzzRequest> {
  return fc.record({ method, path, headers, body }).map((r) => (['GET', 'HEAD'].includes(r.method.toUpperCase()) ? { ...r, body: undefined } : r));
}

/** Answers that a request of garbage may legitimately get: reading the health and the API document. */
function isReadOnlyInfo(r: FuzzRequest): boolean {
  const pathname = new URL(`http://localhost${r.path}`).pathname; // as app.request() builds it
  // Pages and documents that answer any visitor: a 2xx there is no answer to garbage.
  return ['GET', 'HEAD'].includes(r.method.toUpperCase()) && ['/', '/demo.js', '/health', '/openapi.json'].includes(pathname);
}

async function send(h: Harness, r: FuzzRequest): Promise<Response> {
  return h.app.request(r.path, { method: r.method, headers: r.headers, body: r.body as BodyInit | undefined });
}

async function seeded(): Promise<Harness> {
  const h = await createHarness(NO_LIMITS);
  await h.createActiveAccount('active@example.com');
  await h.registerAndGetToken('pending@example.com');
  await h.forgotAndGetToken('active@example.com'); // a reset link in the table for random tokens to miss
  return h;
}

describe(`fuzzing every endpoint (${backend.name})`, () => {
  it('never answers 5xx, and a refused request changes nothing', async () => {
    const h = await seeded();
    await fc.assert(
      fc.asyncProperty(request(anyBody), async (r) => {
        const before = await dump(h.db);
        const res = await send(h, r);
        await res.arrayBuffer();
        expect(res.status, JSON.stringify(r)).toBeLessThan(500);
        if (res.status >= 400) expect(await dump(h.db), JSON.stringify(r)).toBe(before);
        if (res.status >= 400 && res.status !== 404 && r.method.toUpperCase() !== 'HEAD') {
          expect(res.headers.get('content-type'), JSON.stringify(r)).toMatch(/^(application\/problem\+json|text\/html)/);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('never answers 2xx to garbage, and garbage changes nothing', async () => {
    const h = await seeded();
    const before = await dump(h.db);
    await fc.assert(
      fc.asyncProperty(request(garbageBody), async (r) => {
        const res = await send(h, r);
        await res.arrayBuffer();
        expect(res.status, JSON.stringify(r)).toBeLessThan(500);
        if (!isReadOnlyInfo(r)) expect(res.status, JSON.stringify(r)).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS },
    );
    expect(await dump(h.db)).toBe(before);
    expect(h.mails.filter((m) => m.to !== 'active@example.com' && m.to !== 'pending@example.com')).toHaveLength(0);
  });

  it('never answers 5xx to garbage aimed at the form endpoints', async () => {
    const h = await seeded();
    const before = await dump(h.db);
    const form = fc
      .dictionary(fc.constantFrom('token', 'email', 'password', 'confirmPassword', 'x', 'token[]', ''), fc.string({ maxLength: 50 }), { maxKeys: 3 })
      .map((d) => new URLSearchParams(d).toString());
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/activate', '/resend-activation', '/forgot-password', '/reset-password'), form, async (p, body) => {
        const res = await h.app.request(p, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
        await res.arrayBuffer();
        expect(res.status, `${p} ${body}`).toBeLessThan(500);
        if (p === '/activate' || p === '/reset-password') expect(res.status, body).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS },
    );
    // Random addresses may get a 202 from resend or forgot, but no random token activates or resets anything.
    const after = JSON.parse(await dump(h.db)) as { accounts: unknown[] };
    expect(after.accounts).toEqual((JSON.parse(before) as { accounts: unknown[] }).accounts);
  });
});

describe(`fuzzing the session routes and the Authorization header (${backend.name})`, () => {
  const sessionPath = fc.oneof(
    fc.constantFrom('/session', '/sessions', '/logout', '/change-password', '/delete-account', '/devices', '/mfa/totp/setup', '/mfa/totp/enable', '/mfa/totp/disable', '/mfa/recovery-codes'),
    fc.string({ maxLength: 70 }).map((id) => `/sessions/${encodeURIComponent(id)}`),
    fc.string({ maxLength: 70 }).map((id) => `/devices/${encodeURIComponent(id)}`),
  );
  const wellFormed = fc.tuple(fc.stringMatching(/^[A-Za-z0-9_-]{22}$/), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/)).map(([id, secret]) => `${id}.${secret}`);
  const authorization = fc.oneof(
    fc.constant(undefined),
    headerValue,
    wellFormed.map((t) => `Bearer ${t}`),
    fc.tuple(fc.constantFrom('Bearer ', 'bearer ', 'Bearer  ', 'Basic ', 'Token ', ''), fc.oneof(wellFormed, fc.string({ maxLength: 80 }))).map(([s, t]) => `${s}${t}`),
  );
  const sessionBody = fc.oneof(
    garbageBody,
    fc.record({ currentPassword: anyJson, newPassword: anyJson, password: anyJson, code: anyJson }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
  );
  const sessionRequest = fc.record({
    method: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
    path: sessionPath,
    authorization,
    type: fc.option(contentType, { nil: undefined }),
    body: sessionBody,
  });

  it('without a live session every request is refused, never 5xx, and changes nothing; a live one never gets 5xx either', async () => {
    const h = await seeded();
    const live = await h.logIn('active@example.com');
    const otherLive = await h.logIn('active@example.com');
    const before = await dump(h.db);
    await fc.assert(
      fc.asyncProperty(sessionRequest, async (r) => {
        const headers: Record<string, string> = { ...(r.type ? { 'content-type': r.type } : {}), ...(r.authorization === undefined ? {} : { authorization: r.authorization }) };
        const res = await h.app.request(r.path, { method: r.method, headers, body: r.method === 'GET' ? undefined : r.body });
        await res.arrayBuffer();
        const context = JSON.stringify(r);
        expect(res.status, context).toBeLessThan(500);
        // 405 (with Allow) for a method the path does not take, before any session is looked at.
        expect([401, 404, 405], context).toContain(res.status);
        if (res.status === 401) expect(res.headers.get('www-authenticate'), context).toBe('Bearer realm="latchkey"');
        if (res.status === 405) expect(res.headers.get('allow'), context).toBeTruthy();
      }),
      { numRuns: RUNS },
    );
    expect(await dump(h.db)).toBe(before);

    // The same requests with a live token: anything but a 5xx, and no 2xx for garbage bodies.
    await fc.assert(
      fc.asyncProperty(sessionRequest, fc.boolean(), async (r, other) => {
        const token = other ? otherLive : live;
        const headers: Record<string, string> = { ...(r.type ? { 'content-type': r.type } : {}), authorization: `Bearer ${token}` };
        const res = await h.app.request(r.path, { method: r.method, headers, body: r.method === 'GET' ? undefined : r.body });
        await res.arrayBuffer();
        expect(res.status, JSON.stringify(r)).toBeLessThan(500);
        // Only the right password can change or close the account, and fuzzing may find it among the known strings.
        const knowsPassword = typeof r.body === 'string' && r.body.includes(GOOD_PASSWORD);
        if (['/change-password', '/delete-account'].includes(r.path) && !knowsPassword) expect(res.status, JSON.stringify(r)).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: RUNS },
    );
  });
});
