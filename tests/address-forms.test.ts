/**
 * Issue 13 §5b as attacks. IDNA mapping drops invisible characters and folds full-width ones, so
 * `owner@ex<U+00AD>ample.com` had the owner's key but a spelling the attacker chose, stored and
 * mailed to. And numeric domains name IP addresses, internal hosts included, for a mailer to
 * connect to. Both are refused with 422 wherever an address is taken.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { parseEmail } from '../lib/policy/emails.ts';
import { createHarness, dump, GOOD_PASSWORD, OTHER_PASSWORD } from './support/harness.ts';

const OWNER = 'owner@example.com';

/** The owner's address as someone else might spell it: the same key once IDNA has mapped it. */
const RESPELLED = [
  ['soft hyphen U+00AD', 'owner@ex\u00ADample.com'],
  ['zero-width space U+200B', 'owner@exam\u200Bple.com'],
  ['word joiner U+2060', 'owner@example\u2060.com'],
  ['full-width letters', 'owner@\uFF45\uFF58\uFF41\uFF4D\uFF50\uFF4C\uFF45.com'],
  ['full-width dot U+FF0E', 'owner@example\uFF0Ecom'],
  ['ideographic dot U+3002', 'owner@example\u3002com'],
  ['decomposed ü (NFD)', 'owner@bu\u0308cher.example'],
  // Not mapped away but refused by the URL parser already; here so that it stays refused.
  ['zero-width joiner U+200D', 'owner@example.c\u200Dom'],
] as const;

const NUMERIC = ['x@127.0.0.1', 'x@0x7f.1', 'x@2130706433', 'x@017700000001', 'x@127.1', 'x@[::1]', 'x@[127.0.0.1]', 'x@example.123', 'x@10.0.0.1.', 'x@\uFF11\uFF12\uFF17.0.0.1'];

describe(`the domain is taken only in its own spelling (${backend.name})`, () => {
  it('each respelling maps to the same key, which is why it must be refused', () => {
    const host = (email: string) => new URL(`http://${email.split('@')[1]}/`).hostname;
    for (const [name, email] of RESPELLED.slice(0, 6)) expect(host(email), name).toBe('example.com');
    expect(host(RESPELLED[6][1])).toBe(host('owner@bücher.example'));
  });

  it('refuses every respelling with 422 on register, resend and login; the owner\'s own spelling is the one stored and mailed', async () => {
    const h = await createHarness();
    h.client.address = '198.51.100.20';
    await h.createActiveAccount(OWNER);
    h.client.address = '203.0.113.66';
    const before = await dump(h.db);
    const mails = h.mails.length;
    for (const [name, email] of RESPELLED) {
      for (const [path, body] of [
        ['/register', { email, password: OTHER_PASSWORD }],
        ['/resend-activation', { email }],
        ['/login', { email, password: GOOD_PASSWORD }],
      ] as const) {
        const res = await h.post(path, body);
        expect(res.status, `${name} ${path}`).toBe(422);
        expect(await res.json(), `${name} ${path}`).toMatchObject({ errors: [{ pointer: '/email' }] });
      }
    }
    expect(await dump(h.db)).toBe(before);
    expect(h.mails.length).toBe(mails);
    const rows = await h.db.prepare('SELECT email FROM accounts UNION ALL SELECT email FROM registrations').all<{ email: string }>();
    expect(rows.results.map((r) => r.email)).toEqual([OWNER, OWNER]);
    expect(h.mails.every((m) => m.to === OWNER)).toBe(true);
  });

  it('refuses a respelling before the owner registers too, and the owner then registers their own spelling', async () => {
    const h = await createHarness();
    h.client.address = '203.0.113.66';
    for (const [, email] of RESPELLED) expect((await h.post('/register', { email, password: OTHER_PASSWORD })).status).toBe(422);
    expect(h.mails).toHaveLength(0);
    h.client.address = '198.51.100.20';
    await h.createActiveAccount(OWNER);
    expect(h.mails.map((m) => m.to)).toEqual([OWNER]);
  });

  it('still takes letter case, Unicode domains and their A-labels, which IDNA does not change otherwise', () => {
    for (const email of ['Owner@EXAMPLE.com', 'ada@bücher.example', 'ada@BÜCHER.example', 'ada@xn--bcher-kva.example', 'x@123.example', 'x@a.b1', 'x@ΑΣ.gr']) {
      expect(parseEmail(email).ok, email).toBe(true);
    }
  });
});

describe(`a domain must be a name, not an IP address (${backend.name})`, () => {
  it('refuses IP literals and numeric domains with 422, and mails nothing', async () => {
    const h = await createHarness();
    for (const email of NUMERIC) {
      const register = await h.post('/register', { email, password: GOOD_PASSWORD });
      expect(register.status, email).toBe(422);
      expect((await h.post('/resend-activation', { email })).status, email).toBe(422);
    }
    expect(h.mails).toHaveLength(0);
    expect(await h.db.prepare('SELECT count(*) AS n FROM registrations').first()).toEqual({ n: 0 });
  });
});
