// A refused address says why, in words the person can act on: each rule in lib/policy/emails.ts names its
// own reason in the 422's errors, so that a message left empty or swapped for another shows here.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD } from './support/harness.ts';

describe(`why an address is refused (${backend.name})`, () => {
  it('gives each refusal its own reason on /email', async () => {
    const h = await createHarness();
    const cases: Array<[string, RegExp]> = [
      ['   ', /^Enter an email address\.$/],
      ['@example.com', /needs a name, an @ and a domain/],
      ['a b@example.com', /before the @ has characters an email address cannot have/],
      [`${'a'.repeat(65)}@example.com`, /before the @ may have at most 64 characters/],
      ['a@ex_ample.com', /after the @ is not a valid domain/],
      ['a@example.com/x', /after the @ is not a valid domain/],
      ['a@192.0.2.1', /must be a domain name, not an IP address/],
      ['a@exa\u00admple.com', /characters that do not belong in it/],
      [`${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}.com`, /at most 254 characters/],
    ];
    for (const [email, reason] of cases) {
      const res = await h.post('/register', { email, password: GOOD_PASSWORD });
      expect(res.status, email).toBe(422);
      const body = (await res.json()) as { errors?: Array<{ pointer: string; detail: string }> };
      expect(body.errors?.find((e) => e.pointer === '/email')?.detail, email).toMatch(reason);
    }
  });
});
