import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD } from './support/harness.ts';

async function problemOf(res: Response) {
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as { status: number; errors?: Array<{ pointer: string; detail: string }> };
  expect(body.status).toBe(res.status);
  return body;
}

describe(`request validation (${backend.name})`, () => {
  it('names each invalid field with a JSON pointer (422) and stores nothing', async () => {
    const h = await createHarness();
    const before = await dump(h.db);
    const res = await h.post('/register', { email: 'not-an-address', password: 'short' });
    expect(res.status).toBe(422);
    const body = await problemOf(res);
    expect(body.errors?.map((e) => e.pointer).sort()).toEqual(['/email', '/password']);
    expect(await dump(h.db)).toBe(before);
    expect(h.mails).toHaveLength(0);
    expect(h.hashes.hash).toBe(0);
  });

  it('answers 422 for missing, mistyped and unknown fields', async () => {
    const h = await createHarness();
    const cases: Array<[unknown, string]> = [
      [{ password: GOOD_PASSWORD }, '/email'],
      [{ email: 'a@example.com', password: 42 }, '/password'],
      [{ email: 'a@example.com', password: GOOD_PASSWORD, admin: true }, '/admin'],
      [[], ''],
      ['"just a string"', ''],
    ];
    for (const [body, pointer] of cases) {
      const res = await h.post('/register', body as string);
      expect(res.status, JSON.stringify(body)).toBe(422);
      const problem = await problemOf(res);
      expect(problem.errors?.[0]?.pointer).toBe(pointer);
    }
  });

  it('answers 400 for a body that is not JSON at all', async () => {
    const h = await createHarness();
    for (const endpoint of ['/register', '/login', '/activate', '/resend-activation']) {
      const res = await h.post(endpoint, '{"email": ');
      expect(res.status, endpoint).toBe(400);
      await problemOf(res);
    }
  });

  it('answers 415 for a body that is neither JSON nor the page form', async () => {
    const h = await createHarness();
    for (const endpoint of ['/register', '/login', '/activate', '/resend-activation']) {
      const res = await h.post(endpoint, 'email=a@example.com', { 'Content-Type': 'text/plain' });
      expect(res.status, endpoint).toBe(415);
      await problemOf(res);
    }
    const form = await h.post('/login', 'email=a%40example.com&password=x', { 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
  });

  it('answers 413 for a body over 16 KiB', async () => {
    const h = await createHarness();
    const res = await h.post('/register', { email: 'big@example.com', password: 'x'.repeat(17 * 1024) });
    expect(res.status).toBe(413);
    await problemOf(res);
  });

  it('rejects NUL and unpaired surrogates in strings', async () => {
    const h = await createHarness();
    for (const password of [`${GOOD_PASSWORD}\u0000`, `${GOOD_PASSWORD}\ud800`]) {
      const res = await h.post('/register', `{"email":"z@example.com","password":${JSON.stringify(password)}}`);
      expect(res.status).toBe(422);
      expect((await problemOf(res)).errors?.[0]?.pointer).toBe('/password');
    }
  });

  it('answers 404 for unknown paths and 405 with Allow for a method a known path does not take, as problem+json', async () => {
    const h = await createHarness();
    const notFound = await h.get('/nope');
    expect(notFound.status).toBe(404);
    await problemOf(notFound);
    for (const [res, allow] of [
      [await h.get('/login'), 'POST'],
      [await h.post('/health', {}), 'GET, HEAD'],
      [await h.app.request('/activate', { method: 'DELETE' }), 'GET, HEAD, POST'],
    ] as const) {
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      await problemOf(res);
    }
  });
});

describe(`email addresses (${backend.name})`, () => {
  const valid = [
    'simple@example.com',
    'first.last+tag@sub.example.co.uk',
    "o'brien@example.ie",
    'x@example',
    'user@bücher.example',
  ];
  const invalid = [
    'plain',
    '@example.com',
    'user@',
    'user@@example.com',
    'user name@example.com',
    'user@exa mple.com',
    'user@-example.com',
    'user@example..com',
    'user@example.com.',
    'us"er@example.com',
    'user@[127.0.0.1]',
    'jörg@example.com',
    `${'a'.repeat(65)}@example.com`,
    `a@${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.com`,
  ];

  it.each(valid)('accepts %s', async (email) => {
    const h = await createHarness();
    expect((await h.post('/register', { email, password: GOOD_PASSWORD })).status).toBe(202);
  });

  it.each(invalid)('rejects %s', async (email) => {
    const h = await createHarness();
    const res = await h.post('/register', { email, password: GOOD_PASSWORD });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.pointer).toBe('/email');
  });

  it('stores the address as typed and keys uniqueness on the lowercase, IDNA-encoded form', async () => {
    const h = await createHarness();
    await h.createActiveAccount('  Joerg@Bücher.Example ');
    const row = await h.db.prepare('SELECT email, email_key AS key FROM accounts').first<{ email: string; key: string }>();
    expect(row).toEqual({ email: 'Joerg@Bücher.Example', key: 'joerg@xn--bcher-kva.example' });
    // Another spelling of the same address is the same account.
    expect((await h.post('/login', { email: 'JOERG@xn--bcher-kva.example', password: GOOD_PASSWORD })).status).toBe(200);
  });
});
