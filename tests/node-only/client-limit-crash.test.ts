/**
 * The per-client counters are soft writes (lib/storage/db.ts): they skip their own fsync. The
 * attacker's story that must still fail: use up a client's allowance, kill the server (kill -9, as
 * a crash or an OOM kill would), let the supervisor start it again, and try once more. A process
 * crash loses no soft write, so the allowance is still spent after the restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type ServerProcess } from '../support/server-process.ts';

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function npmStart(env: Record<string, string>) {
  const server = await startServer(env);
  servers.push(server);
  return server;
}

const guess = (url: string) =>
  fetch(`${url}/activate`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token: 'A'.repeat(43), password: 'correct horse battery staple' }),
  }).then(async (res) => (await res.arrayBuffer(), res.status));

describe('attack: spend a client allowance, crash the server, try again', () => {
  it('guess up to the allowance, kill -9, restart at once: still 429, twice over', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-limit-crash-'));
    dirs.push(dir);
    // A public PUBLIC_URL: production mode, where the per-client allowances are on.
    const env = { DATABASE_PATH: join(dir, 'accounts.sqlite'), PUBLIC_URL: 'https://accounts.example.test', LIMIT_ACTIVATE_PER_CLIENT: '8/600' };
    let server = await npmStart(env);
    const statuses: number[] = [];
    for (let i = 0; i < 9; i++) statuses.push(await guess(server.url));
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400, 400, 429]);

    for (let crash = 0; crash < 2; crash++) {
      await server.stop('SIGKILL');
      servers.splice(servers.indexOf(server), 1);
      server = await npmStart(env);
      expect(await guess(server.url)).toBe(429);
    }
    expect(server.lines.filter((l) => l.event === 'throttled').map((l) => l.rule)).toEqual(['client']);
  });
});
