// Starting the real server on a database file that it must not use as it is: one that another
// server holds, or one that is damaged. It refuses with a message that names the file, exits
// non-zero, and leaves the file alone. A lock left by a killed server does not block a restart.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { until } from '../support/until.ts';
import { journalPathOf, lockPathOf } from '../../lib/storage/sqljs/files.ts';
import { lockIsFree } from '../support/lock-holder.ts';
import { lineOf, spawnServer, stopNodeServer } from '../support/server-node.ts';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-start-'));
  path = join(dir, 'accounts.sqlite');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function register(port: number, email: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple' }),
  });
  return res.status;
}

describe('server start on a database file', () => {
  it('a second server on the same file refuses, naming the file; the first keeps serving', async () => {
    const first = spawnServer(path);
    const port = await first.started;
    expect(await register(port, 'first@example.com')).toBe(202);
    // The registration's mail leaves the outbox after the answer: a claim, then a delete once sent.
    await until(() => (readFileSync(journalPathOf(path), 'utf8').includes('DELETE FROM mail_outbox') ? true : undefined), 'the mail to be sent');
    const before = { db: readFileSync(path), journal: readFileSync(journalPathOf(path)) };

    const second = spawnServer(path);
    const { code } = await second.exited;
    expect(code).not.toBe(0);
    expect(second.stderr()).toContain(path);
    expect(second.stderr()).toMatch(new RegExp(`in use by process ${first.child.pid}`));
    expect(second.lines.some((l) => l.event === 'server_started')).toBe(false);
    expect(readFileSync(path).equals(before.db)).toBe(true);
    expect(readFileSync(journalPathOf(path)).equals(before.journal)).toBe(true);

    expect(await register(port, 'second@example.com')).toBe(202);
    expect(await stopNodeServer(first)).toEqual({ code: 0, signal: null });
    expect(lockIsFree(lockPathOf(path), path)).toBe(true);
  });

  it('two servers started at once on one file: exactly one runs, the other names it', async () => {
    for (let round = 0; round < 3; round++) {
      const both = [spawnServer(path), spawnServer(path)];
      const outcomes = await Promise.all(both.map((s) => s.started.then(() => 'running', () => 'refused')));
      expect([...outcomes].sort()).toEqual(['refused', 'running']);
      const winner = both[outcomes.indexOf('running')]!;
      const loser = both[outcomes.indexOf('refused')]!;
      expect((await loser.exited).code).not.toBe(0);
      expect(loser.stderr()).toMatch(new RegExp(`in use by process ${winner.child.pid}`));
      expect(await register(await winner.started, `round${round}@example.com`)).toBe(202);
      expect(await stopNodeServer(winner)).toEqual({ code: 0, signal: null });
    }
  });

  it('a lock left by a server killed with SIGKILL does not block the restart', async () => {
    const killed = spawnServer(path);
    const port = await killed.started;
    expect(await register(port, 'before-kill@example.com')).toBe(202);
    expect((await stopNodeServer(killed, 'SIGKILL')).signal).toBe('SIGKILL');
    expect(lockIsFree(lockPathOf(path), path)).toBe(true); // the kernel let go with the process

    const restarted = spawnServer(path);
    const again = await restarted.started;
    expect(await register(again, 'after-kill@example.com')).toBe(202);
    expect(await stopNodeServer(restarted)).toEqual({ code: 0, signal: null });
  });

  it('with PORT=0 and no PUBLIC_URL, reports the port it got and builds links with it', async () => {
    const server = spawnServer(path, { PUBLIC_URL: '' });
    const port = await server.started;
    expect(port).toBeGreaterThan(0);
    expect(server.lines.find((l) => l.event === 'server_started')?.publicUrl).toBe(`http://localhost:${port}`);
    expect(await register(port, 'links@example.com')).toBe(202);
    const mail = await lineOf(server, (l) => l.event === 'mail');
    expect(String(mail?.link)).toMatch(new RegExp(`^http://localhost:${port}/activate\\?token=`));
    await stopNodeServer(server);
  });

  for (const [label, damage] of [
    ['truncated', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 3))],
    ['not SQLite', () => Buffer.from('{"accounts": "these are not the bytes you are looking for"}\n')],
    ['empty', () => Buffer.alloc(0)],
  ] as Array<[string, (bytes: Buffer) => Buffer]>) {
    it(`refuses a database file that is ${label}, with a message that names it and says what to do`, async () => {
      const server = spawnServer(path);
      const port = await server.started;
      expect(await register(port, 'someone@example.com')).toBe(202);
      await stopNodeServer(server);
      writeFileSync(path, damage(readFileSync(path)));
      const damaged = readFileSync(path);

      const refused = spawnServer(path);
      const { code } = await refused.exited;
      expect(code).not.toBe(0);
      expect(refused.stderr()).toContain(path);
      expect(refused.stderr()).toMatch(/damaged.*will not replace it.*Restore .* from a backup, or move both away/s);
      expect(refused.stderr()).not.toMatch(/\n\s+at /); // a message, not a stack trace
      expect(readFileSync(path).equals(damaged)).toBe(true);
      expect(lockIsFree(lockPathOf(path), path)).toBe(true);
    });
  }
});
