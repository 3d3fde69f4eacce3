/**
 * The per-client counters are soft writes (lib/storage/db.ts): they skip their own fsync. The
 * attacker's story that must still fail: use up a client's allowance, kill the server (kill -9, as
 * a crash or an OOM kill would), let the supervisor start it again, and try once more. A process
 * crash loses no soft write, so the allowance is still spent after the restart.
 */
import { describe, expect, it } from 'vitest';
import { serversForEachTest } from '../support/servers-per-test.ts';

const { npmStart, stop, databasePath } = serversForEachTest();

const guess = (url: string) =>
  fetch(`${url}/activate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: 'A'.repeat(43), password: 'correct horse battery staple' }),
  }).then(async (res) => (await res.arrayBuffer(), res.status));

describe('attack: spend a client allowance, crash the server, try again', () => {
  it('guess up to the allowance, kill -9, restart at once: still 429, twice over', { timeout: 90_000 }, async () => {
    // A public PUBLIC_URL: production mode, where the per-client allowances are on.
    const env = { DATABASE_PATH: databasePath('latchkey-limit-crash-'), PUBLIC_URL: 'https://accounts.example.test', LIMIT_ACTIVATE_PER_CLIENT: '8/600' };
    let server = await npmStart(env);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push(await guess(server.url));
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 429]);

    for (let crash = 0; crash < 2; crash++) {
      await stop(server, 'SIGKILL');
      server = await npmStart(env);
      expect(await guess(server.url)).toBe(429);
    }
    expect(server.lines.filter((l) => l.event === 'throttled').map((l) => l.rule)).toEqual(['client']);
  });
});
