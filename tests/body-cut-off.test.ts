/**
 * Issue 23 §3a: a body that cannot be read to its end (the client went away, or its stream broke)
 * is the client's doing. It must get a 400 problem, like any other bad body, and be logged as a bad
 * request, never as internal_error with a 500, and nothing of the error's text may reach the answer.
 * Both ways a body is read: counted as it streams (no declared length: chunked) and in one piece
 * after its declared length was checked.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, type Harness } from './support/harness.ts';

const encoder = new TextEncoder();

/** A body that sends `head`, then fails as a dropped connection does. */
function breakingBody(head: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(encoder.encode(head));
      controller.error(new TypeError('Network connection lost: secret-detail-7731'));
    },
  });
}

async function post(h: Harness, path: string, head: string, declared?: number) {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (declared !== undefined) headers['Content-Length'] = String(declared);
  return h.app.request(path, { method: 'POST', headers, body: breakingBody(head), duplex: 'half' } as RequestInit);
}

describe(`a request body that breaks off (${backend.name})`, () => {
  const cases: Array<[string, string, string]> = [
    ['/forgot-password', '{"email":"ada@exa', 'forgot-password'],
    ['/register', '{"email":"ada@example.com","pass', 'register'],
    ['/login', '{"email":"ada@example.com","password":"x', 'login'],
    ['/resend-activation', '{"em', 'resend'],
  ];
  for (const declared of [undefined, 200]) {
    it(`${declared === undefined ? 'streamed without a length' : 'with a declared length'}: 400 problem on every endpoint with a body, logged as bad_request, not internal_error`, async () => {
      const h = await createHarness();
      for (const [path, head] of cases) {
        const before = h.events.length;
        const res = await post(h, path, head, declared);
        expect(res.status, path).toBe(400);
        expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
        const text = await res.text();
        expect(JSON.parse(text), path).toMatchObject({ status: 400, type: 'urn:latchkey:problem:malformed-body' });
        expect(text).not.toContain('secret-detail');
        expect(text).not.toMatch(/\bat .*:\d+:\d+/); // no stack
        const events = h.events.slice(before);
        expect(events.filter((e) => e.event === 'internal_error'), path).toEqual([]);
        expect(events.filter((e) => e.event === 'bad_request'), path).toEqual([expect.objectContaining({ event: 'bad_request', reason: 'body-cut-off', path })]);
        expect(JSON.stringify(events)).not.toContain('secret-detail');
      }
      // The server is none the worse: a whole body is served as ever.
      expect((await h.post('/forgot-password', { email: 'ada@example.com' })).status).toBe(202);
    });
  }
});
