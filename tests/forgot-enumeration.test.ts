/**
 * POST /forgot-password says nothing about an address, however it is asked: as JSON, as the page's
 * form, with a browser's Accept header, and once the asking client has spent its mail allowance for
 * the address. Every answer is compared whole, status, every header and body, as
 * tests/mail-allowance.test.ts does for register and resend.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, type Harness } from './support/harness.ts';

const ADDRESSES = { unknown: 'nobody@example.com', pending: 'pending@example.com', active: 'active@example.com' };
const PROBER = '203.0.113.66';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Everything a client sees of an answer: status, every header, body. */
async function answer(res: Response) {
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text() };
}

const VARIANTS: Array<[string, (h: Harness, email: string) => Promise<Response>, RegExp]> = [
  ['JSON', (h, email) => h.post('/forgot-password', { email }), /^application\/json/],
  ['JSON from a browser', (h, email) => h.post('/forgot-password', { email }, { Accept: BROWSER_ACCEPT }), /^text\/html/],
  ['page form', (h, email) => h.post('/forgot-password', `email=${encodeURIComponent(email)}`, FORM), /^text\/html/],
  ['page form from a browser', (h, email) => h.post('/forgot-password', `email=${encodeURIComponent(email)}`, { ...FORM, Accept: BROWSER_ACCEPT }), /^text\/html/],
];

describe(`forgot-password answers alike for every address, however asked (${backend.name})`, () => {
  it('unknown, pending and active: byte-identical answers as JSON, form and for a browser, under and over the mail allowance', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600', LIMIT_FORGOT_PER_CLIENT: 'off' });
    h.client.address = '198.51.100.5';
    await h.registerAndGetToken(ADDRESSES.pending);
    await h.createActiveAccount(ADDRESSES.active);
    h.client.address = PROBER;
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const mailsTo = (email: string) => h.mails.filter((m) => m.to === email).map((m) => m.template);

    for (const [variant, send, type] of VARIANTS) {
      h.clock.now += 3600_000; // a fresh allowance for each way of asking
      const before = Object.fromEntries(Object.entries(ADDRESSES).map(([k, email]) => [k, mailsTo(email).length]));
      const ask = async () => {
        const seen: Record<string, Awaited<ReturnType<typeof answer>>> = {};
        for (const [kind, email] of Object.entries(ADDRESSES)) seen[kind] = await answer(await send(h, email));
        await settle();
        return seen;
      };
      const under = await ask();
      expect(mailsTo(ADDRESSES.unknown), variant).toHaveLength(before.unknown!);
      expect(mailsTo(ADDRESSES.pending).slice(before.pending), variant).toEqual(['activation']);
      expect(mailsTo(ADDRESSES.active).slice(before.active), variant).toEqual(['password-reset']);
      const over = await ask(); // this client's allowance for both addresses is spent
      expect(mailsTo(ADDRESSES.pending).slice(before.pending), `${variant}, over`).toEqual(['activation']);
      expect(mailsTo(ADDRESSES.active).slice(before.active), `${variant}, over`).toEqual(['password-reset']);

      const first = under.unknown!;
      expect(first.status, variant).toBe(202);
      expect(first.headers.find(([name]) => name === 'content-type')?.[1], variant).toMatch(type);
      expect(first.headers.map(([name]) => name), variant).not.toContain('retry-after');
      for (const [kind, seen] of [...Object.entries(under), ...Object.entries(over).map(([k, v]) => [`${k}, over`, v] as const)]) {
        expect(seen, `${variant}: ${kind}`).toEqual(first);
      }
    }
    // The accounts are as they were: the probe changed no password and activated nothing.
    expect((await h.post('/login', { email: ADDRESSES.active, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: ADDRESSES.pending, password: GOOD_PASSWORD })).status).toBe(401);
  });
});
