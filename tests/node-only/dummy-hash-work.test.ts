/**
 * A login for an unknown address must cost what a login for a real one costs: a real scrypt
 * verification against a dummy hash, not a quick "false". The work is measured as the process's
 * CPU time (scrypt runs on libuv's threads, which process.cpuUsage counts), compared with a real
 * verification in the same run. Node only: workerd freezes its clocks during a request.
 */
import { describe, expect, it } from 'vitest';
import { createPasswordHasher, DEFAULT_SCRYPT } from '../../lib/crypto/passwords.ts';

const cpuMicros = async (work: () => Promise<unknown>) => {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
};

describe('the dummy verification for unknown addresses', () => {
  it('does the work of a real verification at the production parameters', async () => {
    const hasher = createPasswordHasher(DEFAULT_SCRYPT);
    const stored = await hasher.hash('correct horse battery staple');
    await hasher.verifyDummy('warm up the dummy hash once');
    const real: number[] = [];
    const dummy: number[] = [];
    for (let i = 0; i < 3; i++) {
      real.push(await cpuMicros(() => hasher.verify('a wrong password here', stored)));
      dummy.push(await cpuMicros(() => hasher.verifyDummy('a wrong password here')));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    // A scrypt verification at N=2^14, r=8, p=5 is tens of milliseconds of CPU; a shortcut is microseconds.
    expect(median(real)).toBeGreaterThan(10_000);
    expect(median(dummy) / median(real)).toBeGreaterThan(0.5);
    await expect(hasher.verifyDummy('correct horse battery staple')).resolves.toBe(false);
  }, 60_000);
});
