/**
 * Breached passwords (issue 28), against a range server on 127.0.0.1 that speaks Have I Been
 * Pwned's range API with real padding lines (tests/support/third-party-peers.global.ts): a hit is
 * refused on every path where a password is chosen; a miss, a suffix found only among the padding,
 * and every way the server can fail let the person through on the offline rules, with an event.
 */
import { describe, expect, inject, it } from 'vitest';
import { backend } from '#backend';
import { BREACHED_PASSWORD_DETAIL } from '../lib/flows/chosen-password.ts';
import { breachCheck, parseRange, passwordSha1 } from '../lib/policy/breached-passwords.ts';
import { loadConfig } from '../lib/config/config.ts';
import { BREACH_COUNT, BREACHED_PASSWORD, PADDED_PASSWORD, type RangeRequest } from './support/breach-fixtures.ts';
import { createHarness, dump, GOOD_PASSWORD, NO_LIMITS, OTHER_PASSWORD, PUBLIC_URL } from './support/harness.ts';
import { until } from './support/until.ts';

const rangeServer = inject('rangeServerUrl');
const deadServer = inject('deadServerUrl');

const newKey = () => crypto.randomUUID();
const rangeUrl = (mode: string, key: string) => `${rangeServer}/range/${mode}/${key}/`;
const asked = async (key: string) => (await (await fetch(`${rangeServer}/range-requests/${key}`)).json()) as RangeRequest[];

function lookingUp(mode: string, key = newKey(), timeoutMs = 1500) {
  return { BREACHED_PASSWORDS: 'pwned', BREACHED_PASSWORDS_URL: rangeUrl(mode, key), BREACHED_PASSWORDS_TIMEOUT_MS: String(timeoutMs) };
}

const breachedRefusal = (pointer = '/password') => ({
  type: 'urn:latchkey:problem:validation',
  errors: [{ pointer, detail: BREACHED_PASSWORD_DETAIL }],
});

describe(`breached passwords (${backend.name})`, () => {
  it('refuses a password the range lists, asking with 5 hex digits and Add-Padding only: no hash, no mail, no row', async () => {
    const key = newKey();
    const h = await createHarness(lookingUp('ok', key));
    const before = await dump(h.db);
    const res = await h.post('/register', { email: 'pat@example.com', password: BREACHED_PASSWORD });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject(breachedRefusal());
    expect(h.hashes).toEqual({ hash: 0, verify: 0 });
    expect(h.mails).toEqual([]);
    expect(await dump(h.db)).toBe(before);

    const sha1 = await passwordSha1(BREACHED_PASSWORD);
    const requests = await asked(key);
    expect(requests).toEqual([{ path: `/range/ok/${key}/${sha1.slice(0, 5)}`, addPadding: 'true' }]);
    // Never the password, nor more of its hash than the prefix, in the request or the log.
    expect(JSON.stringify(requests)).not.toContain(sha1.slice(5, 12));
    expect(JSON.stringify(h.events)).not.toContain(sha1.slice(0, 5));
  });

  it('takes a password the range does not list, and one found only among the padding lines (count 0)', async () => {
    const key = newKey();
    const h = await createHarness(lookingUp('ok', key));
    expect((await h.post('/register', { email: 'a@example.com', password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/register', { email: 'b@example.com', password: PADDED_PASSWORD })).status).toBe(202);
    expect(h.mails.filter((m) => m.template === 'activation')).toHaveLength(2);
    expect(h.events.filter((e) => e.event === 'breach_check_failed')).toEqual([]);
    // The padded suffix really was in its range, as a padding line.
    const padded = await passwordSha1(PADDED_PASSWORD);
    const range = await (await fetch(`${rangeUrl('ok', newKey())}${padded.slice(0, 5)}`)).text();
    expect(range).toContain(`${padded.slice(5)}:0`);
    expect(range.split('\r\n').filter((line) => line.endsWith(':0')).length).toBeGreaterThan(500);
  });

  it('the server down, answering 503 or garbage: the offline rules alone, an event, nobody blocked', async () => {
    for (const [vars, reason] of [
      [{ ...lookingUp('ok'), BREACHED_PASSWORDS_URL: `${deadServer}/range/` }, 'unreachable'],
      [lookingUp('status'), 'status'],
      [lookingUp('garbage'), 'garbage'],
    ] as const) {
      const h = await createHarness(vars);
      const res = await h.post('/register', { email: 'pat@example.com', password: BREACHED_PASSWORD });
      expect(res.status, reason).toBe(202);
      expect(h.events.filter((e) => e.event === 'breach_check_failed'), reason).toEqual([expect.objectContaining({ reason })]);
      // The offline rules still stand.
      expect((await h.post('/register', { email: 'pat@example.com', password: 'password' })).status).toBe(422);
    }
  });

  it('a range server that never answers: given up after BREACHED_PASSWORDS_TIMEOUT_MS, the registration goes on', async () => {
    const key = newKey();
    const h = await createHarness(lookingUp('slow', key, 200));
    const res = await h.post('/register', { email: 'pat@example.com', password: BREACHED_PASSWORD });
    expect(res.status).toBe(202);
    expect(h.events.filter((e) => e.event === 'breach_check_failed')).toEqual([expect.objectContaining({ reason: 'timeout' })]);
    // Latchkey closed the request itself: nothing keeps waiting on the range server.
    await until(async () => ((await asked(key))[0]?.closedByClient ? true : undefined), 'the lookup to be closed');
  });

  it('a burst of choosers of passwords with one prefix costs one lookup (ranges are cached per prefix)', async () => {
    const key = newKey();
    const h = await createHarness(lookingUp('ok', key));
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.post('/register', { email: `p${i}@example.com`, password: BREACHED_PASSWORD })),
    );
    expect(answers.map((r) => r.status)).toEqual(Array(10).fill(422));
    expect((await h.post('/register', { email: 'late@example.com', password: BREACHED_PASSWORD })).status).toBe(422);
    expect(await asked(key)).toHaveLength(1);
  });

  it('a breached password is refused on every path where one is chosen: activation typed twice, reset, change', async () => {
    const h = await createHarness(lookingUp('ok'));
    // Activation: someone registered with another password; the person at the mailbox types a new one twice.
    const token = await h.registerAndGetToken('owner@example.com', GOOD_PASSWORD);
    const activation = await h.post('/activate', { token, password: BREACHED_PASSWORD, confirmPassword: BREACHED_PASSWORD });
    expect(activation.status).toBe(422);
    expect(await activation.json()).toMatchObject({ errors: [{ pointer: '/password', detail: BREACHED_PASSWORD_DETAIL }] });
    expect(h.events.at(-1)).toMatchObject({ event: 'activation_refused', reason: 'weak' });
    // As the page's form: a page that says why.
    const page = await h.post('/activate', new URLSearchParams({ token, password: BREACHED_PASSWORD, confirmPassword: BREACHED_PASSWORD }).toString(), {
      'Content-Type': 'application/x-www-form-urlencoded',
    });
    expect(page.status).toBe(422);
    expect(await page.text()).toContain('appears in data breaches');
    expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);

    // Reset: refused, and the link still works.
    const reset = await h.forgotAndGetToken('owner@example.com');
    const refused = await h.post('/reset-password', { token: reset, password: BREACHED_PASSWORD, confirmPassword: BREACHED_PASSWORD });
    expect(refused.status).toBe(422);
    expect(await refused.json()).toMatchObject(breachedRefusal());
    expect((await h.post('/reset-password', { token: reset, password: OTHER_PASSWORD })).status).toBe(200);

    // Change: the field is newPassword, and the refusal names it; the current password is not even checked.
    const session = await h.logIn('owner@example.com', OTHER_PASSWORD);
    const verifies = h.hashes.verify;
    const change = await h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: BREACHED_PASSWORD });
    expect(change.status).toBe(422);
    expect(await change.json()).toMatchObject(breachedRefusal('/newPassword'));
    expect(h.hashes.verify).toBe(verifies);
    expect((await h.post('/login', { email: 'owner@example.com', password: OTHER_PASSWORD })).status).toBe(200);
  });

  it('attack story: the range server hangs while 100 registrations arrive; every one is answered, none waits on it for ever', async () => {
    const key = newKey();
    const h = await createHarness({ ...lookingUp('slow', key, 300), ...NO_LIMITS, HASH_MAX_QUEUED: '200' });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => h.post('/register', { email: `p${i}@example.com`, password: `${GOOD_PASSWORD} ${i}` })));
    expect(answers.map((r) => r.status)).toEqual(Array(100).fill(202));
    expect(h.events.filter((e) => e.event === 'breach_check_failed' && e.reason === 'timeout').length).toBe((await asked(key)).length);
    expect(h.hashes.hash).toBe(100);
  });
});

describe('the range answer and the settings', () => {
  it('parses real lines, drops padding, refuses garbage', () => {
    expect(parseRange('0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n')).toBe('\n0018A45C4D1DEF81644B54AB7F969B88D65:10');
    for (const garbage of ['', '<html></html>', '0018A45C4D1DEF81644B54AB7F969B88D65', '0018A45C4D1DEF81644B54AB7F969B88D6:1', '0018A45C4D1DEF81644B54AB7F969B88D65:x']) {
      expect(parseRange(garbage), garbage).toBeNull();
    }
  });

  it('hashes the NFC form: a decomposed é is the same password as a composed one', async () => {
    expect(await passwordSha1('caf\u0065\u0301 au lait avec sucre')).toBe(await passwordSha1('caf\u00e9 au lait avec sucre'));
    expect(await passwordSha1('password')).toBe('5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8');
  });

  it('is on in production and off in development mode by default; malformed settings are refused at start', () => {
    expect(loadConfig({ PUBLIC_URL }).breachedPasswords).toEqual({ check: 'pwned', url: 'https://api.pwnedpasswords.com/range/', timeoutMs: 1500 });
    expect(loadConfig({ PUBLIC_URL: 'http://localhost:8787' }).breachedPasswords.check).toBe('off');
    expect(loadConfig({ PUBLIC_URL: 'http://localhost:8787', BREACHED_PASSWORDS: 'pwned' }).breachedPasswords.check).toBe('pwned');
    expect(() => loadConfig({ PUBLIC_URL, BREACHED_PASSWORDS: 'yes' })).toThrow(/BREACHED_PASSWORDS must be pwned or off, got "yes"/);
    expect(() => loadConfig({ PUBLIC_URL, BREACHED_PASSWORDS_URL: 'ftp://x/' })).toThrow(/BREACHED_PASSWORDS_URL must be an http or https URL/);
    expect(() => loadConfig({ PUBLIC_URL, BREACHED_PASSWORDS_URL: 'https://example.com/range' })).toThrow(/must end with "\/"/);
    expect(() => loadConfig({ PUBLIC_URL, BREACHED_PASSWORDS_TIMEOUT_MS: '0' })).toThrow(/BREACHED_PASSWORDS_TIMEOUT_MS must be a whole number from 100 to 10000/);
  });

  it('counts a hit as the range does, and forgets a range after its time', async () => {
    const key = newKey();
    let now = 0;
    const check = breachCheck({ check: 'pwned', url: rangeUrl('ok', key), timeoutMs: 1500 }, () => now);
    expect(await check(BREACHED_PASSWORD)).toEqual({ kind: 'breached', count: BREACH_COUNT });
    expect(await check(BREACHED_PASSWORD)).toEqual({ kind: 'breached', count: BREACH_COUNT });
    expect(await asked(key)).toHaveLength(1);
    now += 11 * 60 * 1000;
    expect(await check(BREACHED_PASSWORD)).toEqual({ kind: 'breached', count: BREACH_COUNT });
    expect(await asked(key)).toHaveLength(2);
    expect(await breachCheck({ check: 'off', url: rangeUrl('ok', key), timeoutMs: 1500 })(BREACHED_PASSWORD)).toEqual({ kind: 'unchecked', reason: 'off' });
    expect(await asked(key)).toHaveLength(2);
  });
});
