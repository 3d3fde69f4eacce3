// The real server, killed with SIGKILL at random moments while registrations, activations, logins
// and resends stream in, then restarted on the same file, over and over. Whatever got a 2xx before
// a kill must be there after it; whatever did not must be wholly there or wholly absent.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { tokenFromLink } from '../support/harness.ts';
import { lineOf, postStatus, spawnServer, stopNodeServer, type NodeServer } from '../support/server-node.ts';
import { NO_LIMITS } from '../../scripts/support/limits.ts';
import { until } from '../support/until.ts';
import { fileURLToPath } from 'node:url';

const KILLS = 24;
const WORKERS = 6;
const migrations = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));

interface Registration {
  email: string;
  password: string;
  acknowledged: boolean;
  activated: boolean;
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-crash-'));
const path = join(dir, 'accounts.sqlite');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const registrations = new Map<string, Registration>();
const tokens = new Map<string, string[]>();
const unexpected: string[] = [];
let unacknowledged = 0;
let serial = 0;

async function post(port: number, route: string, body: unknown): Promise<number | null> {
  const status = await postStatus(`http://127.0.0.1:${port}`, route, body);
  if (status === null) unacknowledged++; // the connection died with the server: no answer, no promise made
  return status;
}

function expectStatus(what: string, status: number | null, wanted: number): boolean {
  if (status !== null && status !== wanted) unexpected.push(`${what}: ${status} (wanted ${wanted})`);
  return status === wanted;
}

/** Reads the activation links that the server's mail sink wrote so far. */
function harvestMails(server: NodeServer, from: { cursor: number }): void {
  for (; from.cursor < server.lines.length; from.cursor++) {
    const line = server.lines[from.cursor]!;
    if (line.event === 'mail' && line.template === 'activation') {
      const to = String(line.to);
      tokens.set(to, [...(tokens.get(to) ?? []), tokenFromLink(String(line.link))]);
    }
  }
}

const acknowledgedCount = () => [...registrations.values()].filter((r) => r.acknowledged).length;

const pick = <T>(items: T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

async function step(server: NodeServer, port: number, mails: { cursor: number }): Promise<void> {
  harvestMails(server, mails);
  const all = [...registrations.values()];
  const roll = Math.random();
  const pending = all.filter((r) => r.acknowledged && !r.activated && tokens.has(r.email));
  const active = all.filter((r) => r.activated);
  if (roll < 0.4 && pending.length > 0) {
    const r = pick(pending)!;
    const status = await post(port, '/activate', { token: pick(tokens.get(r.email)!), password: r.password });
    if (expectStatus(`activate ${r.email}`, status, 200)) r.activated = true;
  } else if (roll < 0.55 && active.length > 0) {
    // Acknowledged activations from before earlier kills must still log in, mid-stream too.
    const r = pick(active)!;
    expectStatus(`login ${r.email}`, await post(port, '/login', { email: r.email, password: r.password }), 200);
  } else if (roll < 0.62 && pending.length > 0) {
    const r = pick(pending)!;
    expectStatus(`resend ${r.email}`, await post(port, '/resend-activation', { email: r.email }), 202);
  } else {
    const n = ++serial;
    const r: Registration = { email: `user${n}@example.com`, password: `crash test password ${n}`, acknowledged: false, activated: false };
    registrations.set(r.email, r);
    if (expectStatus(`register ${r.email}`, await post(port, '/register', { email: r.email, password: r.password }), 202)) r.acknowledged = true;
  }
}

// Snapshot as often as the adapter allows (more windows hit); no throttle, since every client is
// 127.0.0.1 here and the subject is durability.
const env = { JOURNAL_SNAPSHOT_BYTES: '1', ...NO_LIMITS };

describe('SIGKILL at random moments (node server, sql.js file)', () => {
  it(`loses no acknowledged write and half-writes nothing over ${KILLS} kills`, { timeout: 120_000 }, async () => {
    const kills: Array<string | null> = [];
    for (let round = 0; round < KILLS; round++) {
      const server = spawnServer(path, env);
      const mails = { cursor: 0 };
      if (round % 6 === 5) {
        // Kill during start-up: loading the snapshot, replaying the journal, taking the lock.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
        server.child.kill('SIGKILL');
        kills.push((await server.exited).signal);
        continue;
      }
      const port = await server.started; // the file always opens
      let killed = false;
      const workers = Array.from({ length: WORKERS }, async () => {
        while (!killed) await step(server, port, mails);
      });
      // At a random moment once this round has a few acknowledged registrations, so that the
      // rounds add up to enough of them however slowly a busy machine serves (not a guessed time).
      const acknowledgedBefore = acknowledgedCount();
      await until(() => (acknowledgedCount() >= acknowledgedBefore + 3 ? true : undefined), 'three acknowledged registrations this round', 60_000);
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 600));
      killed = true;
      server.child.kill('SIGKILL');
      kills.push((await server.exited).signal);
      await Promise.all(workers);
      harvestMails(server, mails);
    }
    expect(kills.filter((s) => s === 'SIGKILL')).toHaveLength(KILLS);
    expect(unexpected).toEqual([]);
    expect(unacknowledged).toBeGreaterThan(0); // kills did land with requests in flight

    await checkNothingHalfWritten();
    if (process.env.CRASH_TEST_STATS) console.log(JSON.stringify({ registrations: registrations.size, acknowledged: [...registrations.values()].filter((r) => r.acknowledged).length, activated: [...registrations.values()].filter((r) => r.activated).length, unacknowledged }));

    // Every acknowledged registration can still be activated, every acknowledged activation logs in.
    const server = spawnServer(path, env);
    const port = await server.started;
    const mails = { cursor: 0 };
    const acknowledged = [...registrations.values()].filter((r) => r.acknowledged);
    expect(acknowledged.length).toBeGreaterThan(50);
    const queue = [...acknowledged];
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (let r = queue.pop(); r; r = queue.pop()) {
          if (!r.activated) {
            let token = tokens.get(r.email)?.at(-1);
            if (!token) {
              // The 202 came back but the mail line did not: the user asks for a new link.
              expect(await post(port, '/resend-activation', { email: r.email })).toBe(202);
              await lineOf(server, (l) => l.event === 'mail' && l.to === r.email);
              harvestMails(server, mails);
              token = tokens.get(r.email)?.at(-1);
            }
            expect(await post(port, '/activate', { token, password: r.password }), r.email).toBe(200);
          }
          expect(await post(port, '/login', { email: r.email, password: r.password }), r.email).toBe(200);
        }
      }),
    );
    expect(await stopNodeServer(server)).toEqual({ code: 0, signal: null });
    await checkNothingHalfWritten(acknowledged.length);
  });
});

/**
 * An activation is one batch: the account row and the consumption of every link for the address
 * go in together. A half-applied batch would show as an account with an outstanding link, or a
 * consumed link without an account, or an account whose password no registration had.
 */
async function checkNothingHalfWritten(minAccounts = 0): Promise<void> {
  const db = await openSqlJsDatabase({ path, migrations });
  try {
    const q = async (sql: string) => (await db.prepare(sql).all()).results;
    expect(await q('PRAGMA integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(await q('PRAGMA foreign_key_check')).toEqual([]);
    expect(
      await q(`SELECT r.email_key FROM registrations r JOIN accounts a USING (email_key) WHERE r.consumed_at IS NULL`),
    ).toEqual([]);
    expect(
      await q(`SELECT email_key FROM registrations r WHERE consumed_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM accounts a WHERE a.email_key = r.email_key)`),
    ).toEqual([]);
    expect(
      await q(`SELECT email_key FROM accounts a WHERE NOT EXISTS
               (SELECT 1 FROM registrations r WHERE r.email_key = a.email_key AND r.password_hash = a.password_hash)`),
    ).toEqual([]);
    const { n } = (await q('SELECT count(*) AS n FROM accounts'))[0] as { n: number };
    expect(n).toBeGreaterThanOrEqual(minAccounts);
  } finally {
    db.close();
  }
}
