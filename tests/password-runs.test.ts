// Only a real run is refused as "consecutive": one step of +1 or −1 all the way, digits wrapping
// 9→0 going up and 0→9 going down. A password that merely ends its run on a 0 or 9, or steps by
// two, is the person's choice and must be accepted; a repeated pattern says so in its reason.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness } from './support/harness.ts';

const reasons = async (h: Awaited<ReturnType<typeof createHarness>>, password: string, n: number) => {
  const res = await h.post('/register', { email: `p${n}@example.com`, password });
  if (res.status === 202) return [];
  expect(res.status, password).toBe(422);
  const body = (await res.json()) as { errors?: Array<{ pointer: string; detail: string }> };
  return (body.errors ?? []).filter((e) => e.pointer === '/password').map((e) => e.detail);
};

describe(`which runs of characters are refused (${backend.name})`, () => {
  it('accepts passwords that only look like runs, and refuses the real ones with the right reason', async () => {
    const h = await createHarness();
    const accepted = ['abcdefghijklmn0', 'nmlkjihgfedcba9', '012345678912345', '987654321087654', 'acegikmoqsuwy{}'];
    let n = 0;
    for (const password of accepted) expect(await reasons(h, password, n++), password).toEqual([]);
    expect(await reasons(h, '789012345678901', n++)).toEqual(['Do not use a run of consecutive characters.']);
    expect(await reasons(h, '210987654321098', n++)).toEqual(['Do not use a run of consecutive characters.']);
    expect(await reasons(h, 'xyzxyzxyzxyzxyz', n++)).toEqual(['Do not repeat the same few characters.']);
  });
});
