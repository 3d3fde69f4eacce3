/**
 * Each length limit at its exact boundary, through the endpoints a person uses: the last length
 * that is accepted and the first that is refused. And the patterns an attacker tries first.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { MAX_EMAIL_LENGTH, MAX_LOCAL_LENGTH, parseEmail } from '../lib/policy/emails.ts';
import { DEFAULT_PASSWORD_POLICY, passwordProblems } from '../lib/policy/password-policy.ts';
import { createHarness, GOOD_PASSWORD, NO_LIMITS } from './support/harness.ts';

/** A passphrase of exactly `length` code points that no rule refuses. */
function passphraseOf(length: number): string {
  const words = 'amber canyon drift ember fjord glacier harbor indigo juniper kestrel lantern meadow '.repeat(8);
  return words.slice(0, length - 1) + 'q';
}

describe(`length limits at their boundaries (${backend.name})`, () => {
  it('passwords: 15 and 256 code points are accepted at registration, 14 and 257 are not', async () => {
    expect(DEFAULT_PASSWORD_POLICY).toEqual({ minLength: 15, maxLength: 256 });
    const h = await createHarness(NO_LIMITS);
    const cases: Array<[number, number]> = [
      [14, 422],
      [15, 202],
      [256, 202],
      [257, 422],
    ];
    for (const [length, status] of cases) {
      const password = passphraseOf(length);
      expect(Array.from(password)).toHaveLength(length);
      const res = await h.post('/register', { email: `len${length}@example.com`, password });
      expect(res.status, `${length} code points`).toBe(status);
      if (status === 422) expect(JSON.stringify(await res.json())).toContain('/password');
    }
    // Counted in code points, not UTF-16 units: 15 astral characters are 15, not 30.
    expect(passwordProblems('😀🐈🌵🎈🧩🚲🍉🎻🪁🦉🌋🧭🪴🛶🗝', null, DEFAULT_PASSWORD_POLICY)).toEqual([]);
  });

  it('addresses: a 64-character local part and a 254-character address are accepted, one more is not', async () => {
    expect([MAX_LOCAL_LENGTH, MAX_EMAIL_LENGTH]).toEqual([64, 254]);
    const label = (n: number) => 'a'.repeat(n);
    // 64 + "@" + a domain of 189 characters (labels of 63, 63 and 57, then "com") = 254.
    const domain254 = `${label(63)}.${label(63)}.${label(57)}.com`;
    const atLimit = `${label(64)}@${domain254}`;
    expect(atLimit).toHaveLength(254);
    const h = await createHarness(NO_LIMITS);
    const cases: Array<[string, number]> = [
      [`${label(64)}@example.com`, 202],
      [`${label(65)}@example.com`, 422],
      [atLimit, 202],
      [`${label(64)}@a${domain254}`, 422],
    ];
    for (const [email, status] of cases) {
      const res = await h.post('/register', { email, password: GOOD_PASSWORD });
      expect(res.status, `${email.length} characters, local part ${email.indexOf('@')}`).toBe(status);
      if (status === 422) expect(JSON.stringify(await res.json())).toContain('/email');
    }
    expect(parseEmail(atLimit).ok).toBe(true);
  });
});

describe(`passwords an attacker tries first (${backend.name})`, () => {
  it('refuses runs of digits that wrap around, upwards and downwards', () => {
    for (const run of ['789012345678901', '321098765432109', '012345678901234', '987654321098765']) {
      expect(passwordProblems(run, null, DEFAULT_PASSWORD_POLICY), run).toContain('Do not use a run of consecutive characters.');
    }
    // A wrap that changes direction is not a run.
    expect(passwordProblems('890109876543210', null, DEFAULT_PASSWORD_POLICY)).not.toContain('Do not use a run of consecutive characters.');
  });
});
