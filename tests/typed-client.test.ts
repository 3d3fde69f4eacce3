/**
 * A generated client fits the API (issue 16), on both backends: the flow an outside developer
 * writes with openapi-typescript's types and openapi-fetch (tests/support/typed-client-flow.ts)
 * runs against the app, through the harness, so every answer is also checked against the
 * document. And the document states what the server enforces, from the configuration it started
 * with. tests/node-only/typed-client.test.ts generates the types afresh, typechecks the flow
 * under the strict options and lints the document.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, PUBLIC_URL, tokenFromLink, type Harness } from './support/harness.ts';
import { registerActivateLogin } from './support/typed-client-flow.ts';

type Doc = Record<string, any>;

async function documentOf(h: Harness): Promise<Doc> {
  const res = await h.get('/openapi.json');
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

const operationsOf = (doc: Doc) =>
  Object.entries(doc.paths as Record<string, Record<string, Doc>>).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ at: `${method.toUpperCase()} ${path}`, operation })),
  );

describe(`a generated client (${backend.name})`, () => {
  it('runs register → activate → login through openapi-fetch, with the answers its types promise', async () => {
    const h = await createHarness();
    const env = {
      fetch: async (request: Request) => h.app.request(request),
      tokenMailedTo: (email: string) => tokenFromLink(h.mails.filter((m) => m.to === email && m.template === 'activation').at(-1)?.link),
    };
    const result = await registerActivateLogin(env, 'ada@example.com', GOOD_PASSWORD);
    expect(result).toEqual({
      registered: 'pending',
      bodylessActivateStatus: 415,
      weakPassword: { status: 422, pointers: ['/password'] },
      activated: 'active',
      loggedInAs: 'ada@example.com',
      deviceTokenLength: expect.any(Number),
      wrongPassword: { status: 401, title: 'Wrong email or password' },
    });
    expect(result.deviceTokenLength).toBeGreaterThan(30);
  });
});

describe(`the document says what the server does (${backend.name})`, () => {
  it('states the password limits of the configuration the server runs with, and only where the policy applies', async () => {
    for (const [vars, min, max] of [
      [{}, 15, 256],
      [{ PASSWORD_MIN_LENGTH: '20', PASSWORD_MAX_LENGTH: '100' }, 20, 100],
    ] as const) {
      const h = await createHarness(vars);
      const schemas = (await documentOf(h)).components.schemas;
      expect(schemas.RegisterRequest.properties.password).toMatchObject({ minLength: min, maxLength: max });
      // Login tries any password as sent (no policy), up to what the body schema takes.
      expect(schemas.LoginRequest.properties.password.minLength).toBeUndefined();
      expect(schemas.LoginRequest.properties.password.maxLength).toBe(1024);
      for (const name of ['RegisterRequest', 'LoginRequest', 'ResendRequest']) expect(schemas[name].properties.email.maxLength).toBe(254);
      expect(JSON.stringify(schemas)).not.toContain('x-from-config');

      // And the server does what it says, at both ends of the configured range.
      const password = (n: number) => 'correct horse battery staple zebra '.repeat(8).slice(0, n);
      const register = (n: number) => h.post('/register', { email: `len${n}@example.com`, password: password(n) });
      expect((await register(min - 1)).status).toBe(422);
      expect((await register(min)).status).toBe(202);
      expect((await register(max)).status).toBe(202);
      expect((await register(max + 1)).status).toBe(422);
    }
  });

  it('counts lengths in code points, as JSON Schema does, and limits an address to 254', async () => {
    const h = await createHarness();
    const astral = '😀'.repeat(15);
    const res = await h.post('/login', { email: 'ada@example.com', password: astral.repeat(68) }); // 1020 code points, 2040 UTF-16 units
    expect(res.status).toBe(401);
    const over = await h.post('/login', { email: 'ada@example.com', password: astral.repeat(69) }); // 1035 code points
    expect(over.status).toBe(422);
    const address255 = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;
    expect(address255).toHaveLength(255);
    const longAddress = await h.post('/register', { email: address255, password: GOOD_PASSWORD });
    expect(longAddress.status).toBe(422);
    expect(JSON.stringify(await longAddress.json())).toContain('at most 254 characters');
  });

  it('marks every body required, and a request without one gets 415', async () => {
    const h = await createHarness();
    const doc = await documentOf(h);
    const withBodies = operationsOf(doc).filter(({ operation }) => operation.requestBody);
    expect(withBodies.map(({ at }) => at).sort()).toEqual([
      'POST /activate',
      'POST /change-email',
      'POST /change-password',
      'POST /confirm-email',
      'POST /delete-account',
      'POST /forgot-password',
      'POST /login',
      'POST /login/mfa',
      'POST /mfa/recovery-codes',
      'POST /mfa/totp/disable',
      'POST /mfa/totp/enable',
      'POST /mfa/totp/setup',
      'POST /register',
      'POST /resend-activation',
      'POST /reset-password',
      'POST /undo-email-change',
    ]);
    // The routes behind a session check the token first: give them a live one, so the body is what is missing.
    await h.createActiveAccount('bodies@example.com');
    const session = await h.logIn('bodies@example.com');
    for (const { at, operation } of withBodies) {
      expect(operation.requestBody.required, at).toBe(true);
      const headers: Record<string, string> = operation.security?.length ? { Authorization: `Bearer ${session}` } : {};
      const res = await h.app.request(at.split(' ')[1]!, { method: 'POST', headers });
      expect(res.status, at).toBe(415);
    }
    // Both media types of the form routes are still validated as the one that was sent.
    const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
    expect((await h.post('/resend-activation', 'email=ada%40example.com', form)).status).toBe(202);
    expect((await h.post('/resend-activation', { email: 'ada@example.com' })).status).toBe(202);
  });

  it('names every operation, tags it with a described tag, and says where it runs and that only the session operations need credentials', async () => {
    const doc = await documentOf(await createHarness({ PUBLIC_URL: 'https://id.example.org/accounts' }));
    const operations = operationsOf(doc);
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === 'string' && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const tags = new Map((doc.tags as Array<{ name: string; description: string }>).map((t) => [t.name, t.description]));
    for (const { at, operation } of operations) {
      expect(operation.tags, at).toHaveLength(1);
      expect(tags.get(operation.tags[0]), at).toMatch(/\w/);
      expect(operation.description, at).toMatch(/\w/);
    }
    // The tags as docs/pages-and-openapi.md lists them, operation by operation.
    const byTag: Record<string, string[]> = {};
    for (const { at, operation } of operations) (byTag[operation.tags[0]] ??= []).push(at);
    expect(Object.fromEntries(Object.entries(byTag).map(([tag, ats]) => [tag, ats.sort()]))).toEqual({
      accounts: [
        'POST /activate',
        'POST /confirm-email',
        'POST /forgot-password',
        'POST /login',
        'POST /login/mfa',
        'POST /register',
        'POST /resend-activation',
        'POST /reset-password',
        'POST /undo-email-change',
      ],
      sessions: [
        'DELETE /devices/{id}',
        'DELETE /sessions/{id}',
        'GET /devices',
        'GET /session',
        'GET /sessions',
        'POST /change-email',
        'POST /change-password',
        'POST /delete-account',
        'POST /logout',
        'POST /mfa/recovery-codes',
        'POST /mfa/totp/disable',
        'POST /mfa/totp/enable',
        'POST /mfa/totp/setup',
      ],
      pages: [
        'GET /',
        'GET /activate',
        'GET /confirm-email',
        'GET /demo.js',
        'GET /reset-password',
        'GET /undo-email-change',
      ],
      service: ['GET /health', 'GET /openapi.json'],
    });
    expect(doc.servers).toEqual([{ url: 'https://id.example.org/accounts', description: expect.any(String) }]);
    // No credentials unless an operation says so; the session operations do, and no other.
    expect(doc.security).toEqual([]);
    const withSecurity = operations.filter(({ operation }) => operation.security !== undefined).sort((x, y) => (x.at < y.at ? -1 : 1));
    expect(withSecurity.map(({ at, operation }) => [at, operation.security])).toEqual(byTag.sessions!.map((at) => [at, [{ bearer: [] }]]));
    expect(doc.info.description).not.toMatch(/no operation needs credentials/i);
    expect(doc.info.license.name).toBe('UNLICENSED');
    expect(doc.paths['/openapi.json'].get.responses['200'].content['application/json']).toBeDefined();
    expect((await documentOf(await createHarness())).servers[0].url).toBe(PUBLIC_URL);
  });

  it('answers 405 with Allow for every method a documented path does not list, and 404 elsewhere', async () => {
    const h = await createHarness();
    const doc = await documentOf(h);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Doc>)) {
      const listed = Object.keys(item).map((m) => m.toUpperCase());
      const allow = listed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !listed.includes(m))) {
        const res = await h.app.request(path, { method });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow'), `${method} ${path}`).toBe(allow);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
      }
    }
    for (const path of ['/nowhere', '/activate/extra', '/dev/mail']) {
      expect((await h.app.request(path, { method: 'DELETE' })).status, path).toBe(404);
    }
  });
});
