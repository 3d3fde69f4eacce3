// What a supervisor does: `npm start` in its own process group, `kill -9` of the whole group while
// registrations and activations stream in, and `npm start` again at once. npm dies with the server,
// so the server is left a zombie until PID 1 reaps it (seconds later here, never in a container
// without an init): the restart must come up anyway, every round, with every acknowledged write.
// (crash.test.ts kills `node` itself at random moments, for the journal's crash windows.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenFromLink } from '../support/harness.ts';
import { NO_LIMITS } from '../../scripts/support/limits.ts';
import { processState } from '../support/lock-holder.ts';
import { postStatus } from '../support/server-node.ts';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.ts';
import { until } from '../support/until.ts';

const ROUNDS = 20;
// Few writes per round: every round checks every write acknowledged so far, and each login it
// makes is itself a write (fsynced), so the check grows with the total.
const WORKERS = 2;

const dir = mkdtempSync(join(tmpdir(), 'latchkey-supervisor-'));
const env = { DATABASE_PATH: join(dir, 'accounts.sqlite'), PUBLIC_URL: 'http://localhost', ...NO_LIMITS };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Account {
  email: string;
  password: string;
  token?: string;
  activated: boolean;
}

/** Acknowledged registrations (202), some also acknowledged activations (200). */
const accounts = new Map<string, Account>();
let serial = 0;

const post = (server: ServerProcess, route: string, body: unknown) => postStatus(server.url, route, body);

function harvestTokens(server: ServerProcess): void {
  for (const line of server.lines) {
    const account = line.event === 'mail' ? accounts.get(String(line.to)) : undefined;
    if (account && !account.token) account.token = tokenFromLink(String(line.link));
  }
}

async function load(server: ServerProcess, stop: { now: boolean }): Promise<void> {
  while (!stop.now) {
    harvestTokens(server);
    const pending = [...accounts.values()].find((a) => a.token && !a.activated);
    if (pending && Math.random() < 0.5) {
      if ((await post(server, '/activate', { token: pending.token, password: pending.password })) === 200) pending.activated = true;
      continue;
    }
    const n = ++serial;
    const account: Account = { email: `user${n}@example.com`, password: `supervisor test password ${n}`, activated: false };
    if ((await post(server, '/register', { email: account.email, password: account.password })) === 202) accounts.set(account.email, account);
  }
}

/** Every acknowledged activation logs in; every acknowledged registration can still be activated. */
async function checkEveryAcknowledgedWrite(server: ServerProcess): Promise<void> {
  const queue = [...accounts.values()];
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let a = queue.pop(); a; a = queue.pop()) {
        if (!a.activated) {
          if (!a.token) {
            // The 202 went out before the mail line did: ask for a new link, as a person would.
            // A registration that was lost sends no mail, and waiting for it fails the test.
            await post(server, '/resend-activation', { email: a.email });
            const mail = await server.waitForLine((l) => l.event === 'mail' && l.to === a.email, 5_000).catch(() => null);
            if (!mail) {
              failures.push(`registration of ${a.email} lost`);
              continue;
            }
            a.token = tokenFromLink(String(mail.link));
          }
          const status = await post(server, '/activate', { token: a.token, password: a.password });
          if (status !== 200) failures.push(`activation of ${a.email}: ${status}`);
          else a.activated = true;
        }
        const status = await post(server, '/login', { email: a.email, password: a.password });
        if (status !== 200) failures.push(`login of ${a.email}: ${status}`);
      }
    }),
  );
  expect(failures).toEqual([]);
}

/** The server under npm (npm start runs `exec node …`, so node is npm's child). */
function serverPidUnder(npm: number): number | undefined {
  try {
    return Number(readFileSync(`/proc/${npm}/task/${npm}/children`, 'utf8').trim().split(/\s+/)[0]) || undefined;
  } catch {
    return undefined;
  }
}

describe('kill -9 of the process group of npm start, then npm start again at once', () => {
  it(`comes back every time over ${ROUNDS} rounds, with every acknowledged write`, { timeout: 240_000 }, async () => {
    let server = await startServer(env);
    const restartedBesideZombie: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const stop = { now: false };
      const workers = Array.from({ length: WORKERS }, () => load(server, stop));
      // At a random moment once this round has two acknowledged registrations, not after a guessed
      // time: a fresh server's first requests can take longer than a whole guessed window on a busy
      // machine, and then no round added an account (0 against the 20 required, seen once).
      const before = accounts.size;
      await until(() => (accounts.size >= before + 2 ? true : undefined), 'two acknowledged registrations this round', 60_000);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 150));
      const node = serverPidUnder(server.child.pid!);
      process.kill(-server.child.pid!, 'SIGKILL');
      stop.now = true;
      await server.exited; // npm reaped, and the pipes closed: the server's files are closed
      await Promise.all(workers);
      harvestTokens(server);

      const restart = startServer(env);
      if (node !== undefined && processState(node) === 'Z') restartedBesideZombie.push(round);
      server = await restart; // rejects if the restart refuses to start
      await checkEveryAcknowledgedWrite(server);
    }
    await server.stop();
    expect(accounts.size).toBeGreaterThan(ROUNDS);
    if (process.env.CRASH_TEST_STATS) console.log(JSON.stringify({ accounts: accounts.size, restartedBesideZombie: restartedBesideZombie.length }));
  });
});
