// Domain labels that the URL parser lets through but no mail domain can have: an underscore, a
// hyphen at either end, a label longer than 63. Each is refused with 422 before anything is stored
// or mailed, like every other malformed address.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD } from './support/harness.ts';

describe(`domain labels outside DNS's rules (${backend.name})`, () => {
  it('answers 422 for each, stores nothing and mails nothing, while the plain form registers', async () => {
    const h = await createHarness();
    const refused = ['a@ex_ample.com', 'a@example-.com', 'a@-example.com', 'a@mail.example-.com', `a@${'x'.repeat(64)}.com`];
    for (const email of refused) {
      const res = await h.post('/register', { email, password: GOOD_PASSWORD });
      expect(res.status, email).toBe(422);
      expect(res.headers.get('content-type'), email).toBe('application/problem+json');
    }
    expect(h.mails).toHaveLength(0);
    expect((await h.post('/register', { email: `a@${'x'.repeat(63)}.com`, password: GOOD_PASSWORD })).status).toBe(202);
  });
});
