/**
 * Issue 13 §5c: a body byte that is not UTF-8 used to become U+FFFD without a word, so a mangled
 * address or password was stored as if the client had sent it. Now every endpoint that takes a
 * body answers 400: problem+json for JSON, a page for a page's form.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, dump, GOOD_PASSWORD } from './support/harness.ts';

const JSON_ENDPOINTS = ['/register', '/login', '/activate', '/resend-activation'];
const FORM_ENDPOINTS = ['/activate', '/resend-activation'];

const bytes = (...parts: Array<string | number[]>) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...new TextEncoder().encode(p)] : p)));

/** Bodies with one bad byte sequence each: a lone continuation byte, a truncated sequence, an overlong '@', a surrogate. */
const BAD = [[0xff], [0xc3], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0x80]];

describe(`request bodies must be UTF-8 (${backend.name})`, () => {
  it('answers 400 problem+json on every JSON endpoint, and changes nothing', async () => {
    const h = await createHarness();
    const before = await dump(h.db);
    for (const path of JSON_ENDPOINTS) {
      for (const bad of BAD) {
        const body = bytes('{"email":"ada', bad, '@example.com","password":"', GOOD_PASSWORD, '","token":"x"}');
        const res = await h.app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
        expect(res.status, `${path} ${bad}`).toBe(400);
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(await res.json()).toMatchObject({ status: 400, type: 'urn:latchkey:problem:malformed-body', detail: expect.stringMatching(/UTF-8/) });
      }
    }
    expect(await dump(h.db)).toBe(before);
    expect(h.mails).toHaveLength(0);
  });

  it("answers a page's form with a 400 page, for raw bytes and for percent escapes alike", async () => {
    const h = await createHarness();
    for (const path of FORM_ENDPOINTS) {
      for (const body of [bytes('email=ada', [0xff], '%40example.com&token=x'), 'email=ada%FF%40example.com', 'token=%C3', 'email=a%ED%A0%80b%40example.com']) {
        const res = await h.app.request(path, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body });
        expect(res.status, `${path} ${String(body)}`).toBe(400);
        expect(res.headers.get('content-type')).toMatch(/^text\/html/);
        expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
        expect(await res.text()).toContain('UTF-8');
      }
    }
    expect(h.mails).toHaveLength(0);
  });

  it('still takes valid UTF-8 beyond ASCII, a byte-order mark, and a lone % that is no escape', async () => {
    const h = await createHarness();
    const register = await h.app.request('/register', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: bytes([0xef, 0xbb, 0xbf], JSON.stringify({ email: 'joerg@bücher.example', password: `${GOOD_PASSWORD} ✓` })),
    });
    expect(register.status).toBe(202);
    expect(h.mails.map((m) => m.to)).toEqual(['joerg@bücher.example']);
    const row = await h.db.prepare('SELECT email FROM registrations').first<{ email: string }>();
    expect(row?.email).toBe('joerg@bücher.example');
    const form = await h.app.request('/resend-activation', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'email=100%25%20sure%',
    });
    expect(form.status).toBe(422); // not an address, but read as text, not refused as bytes
  });
});
