// The races of tests/races.test.ts on a database with a file behind it. Only there do writes go
// through group commit (lib/storage/sqljs/group-commit.ts): the write units that arrive together run
// as savepoints of one transaction and share one journal append and one fsync. The in-memory
// database of tests/races.test.ts runs each unit alone, so its races never put racing units in one
// group. Here: 50 confirmations at once, and logins and a reset placed (by a seam) as units of one
// group in a known order; each test checks that the rules held and that what is on disk (snapshot
// and journal, opened as a copy while the first is still open) is what the running database holds.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConfigVars } from '../../lib/config/config.ts';
import type { PasswordHasher } from '../../lib/crypto/passwords.ts';
import { journalPathOf } from '../../lib/storage/sqljs/files.ts';
import { realIo } from '../../lib/storage/sqljs/journal.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase, type SqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { faultPlan, faultyDatabase } from '../support/faults.ts';
import type { Database, Statement } from '../../lib/storage/db.ts';
import { confirmResetsAtOnce } from '../support/reset-race.ts';
import { dump, GOOD_PASSWORD, harnessOn, NO_LIMITS, OTHER_PASSWORD } from '../support/harness.ts';

const N = 50;
const LOGINS = 20;
const EMAIL = 'race@example.com';
const migrations = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));
const dir = mkdtempSync(join(tmpdir(), 'latchkey-file-races-'));
const opened: SqlJsDatabase[] = [];
afterAll(() => {
  for (const db of opened) db.close();
  rmSync(dir, { recursive: true, force: true });
});

interface FileOptions {
  vars?: ConfigVars;
  wrapHasher?: (hasher: PasswordHasher) => PasswordHasher;
  /** Told of every batch as it is handed to the database (before it runs), with its statements' SQL. */
  onBatch?: (sql: string[]) => void;
}

/** A file-backed database that keeps the text of each journal append (one append, one fsync). */
async function onFile(name: string, options: FileOptions = {}) {
  const path = join(dir, `${name}.sqlite`);
  const appends: string[] = [];
  const db = await openSqlJsDatabase({
    path,
    migrations,
    // Never a snapshot on the way: the journal must carry every write of the race.
    minSnapshotBytes: 1 << 30,
    io: {
      writeSync: (fd, buffer, offset, length) => {
        appends.push(Buffer.from(buffer.subarray(offset, offset + length)).toString('utf8'));
        return realIo.writeSync(fd, buffer, offset, length);
      },
    },
  });
  opened.push(db);
  const plan = faultPlan();
  const counted = faultyDatabase(plan)(db);
  const watched: Database = {
    prepare: (sql) => counted.prepare(sql),
    batch(statements) {
      options.onBatch?.((statements as Array<Statement & { sql?: string }>).map((s) => s.sql ?? ''));
      return counted.batch(statements);
    },
  };
  // Hashes queue rather than answer 503: the race is the subject, not the hash queue.
  const h = harnessOn(watched, { ...NO_LIMITS, HASH_MAX_QUEUED: '1000', ...options.vars }, options.wrapHasher);
  /** What a restart would find: a copy of the file and its journal, opened as a second database. */
  const fromDisk = async () => {
    const copy = join(dir, `${name}-copy.sqlite`);
    copyFileSync(path, copy);
    if (existsSync(journalPathOf(path))) copyFileSync(journalPathOf(path), journalPathOf(copy));
    const reopened = await openSqlJsDatabase({ path: copy, migrations });
    opened.push(reopened);
    return dump(reopened);
  };
  return { h, plan, appends, fromDisk };
}

function deferred(): [Promise<void>, () => void] {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return [promise, open];
}

describe('races on a file-backed sql.js database, through group commit (node)', () => {
  it(`${N} confirmations of reset links of one account at once (${N / 5} on each of 5 links): one change, the losers write nothing, and the disk agrees`, async () => {
    const { h, plan, appends, fromDisk } = await onFile('resets');
    await h.createActiveAccount(EMAIL);
    const links: string[] = [];
    for (let i = 0; i < 5; i++) links.push(await h.forgotAndGetToken(EMAIL));
    const appendsBefore = appends.length;
    const winner = await confirmResetsAtOnce(h, plan, links, Array.from({ length: N }, (_, i) => `file race password number ${i} for the win`));
    // Only the winner's unit changed rows, so the race adds one journal line, in one append. (The
    // courier's claim and delete of the winner's notice, after its answer, are the outbox's own.)
    const courier = /"(UPDATE mail_outbox SET attempts|DELETE FROM mail_outbox)/;
    const raceLines = appends.slice(appendsBefore).map((text) => text.split('\n').filter((line) => line && !courier.test(line)).length);
    expect(raceLines.filter((n) => n > 0)).toEqual([1]);

    expect((await h.post('/login', { email: EMAIL, password: winner })).status).toBe(200);
    expect(await fromDisk()).toBe(await dump(h.db));
  });

  it(`${LOGINS} logins with the old password and a reset, through group commit: the logins before the reset lose their sessions to it, the ones after it get none`, async () => {
    // The seam, so that the order inside the group is known: the reset hashes its new password
    // once every login has read the old hash; then half the logins go on, and the reset's batch
    // follows theirs, and the other half follows the reset's, all in one turn of the event loop,
    // so that they commit in that order, as units of one group when the machine keeps up.
    let armed = false;
    let verifying = 0;
    let loginsIn = 0;
    const [allRead, openAllRead] = deferred();
    const [resetHashed, openResetHashed] = deferred();
    const [firstHalfIn, openFirstHalfIn] = deferred();
    const [resetIn, openResetIn] = deferred();
    const { h, appends, fromDisk } = await onFile('logins', {
      // Every login may check its password: the back-off would refuse most of them before that.
      vars: { LOGIN_FREE_FAILURES: String(LOGINS), HASH_MAX_IN_FLIGHT: String(LOGINS + 1) },
      wrapHasher: (hasher) => ({
        ...hasher,
        async verify(password, stored) {
          if (!armed) return hasher.verify(password, stored);
          const n = verifying++;
          if (verifying === LOGINS) openAllRead();
          const ok = await hasher.verify(password, stored);
          await (n < LOGINS / 2 ? resetHashed : resetIn);
          return ok;
        },
        async hash(password) {
          if (!armed) return hasher.hash(password);
          await allRead;
          const hash = await hasher.hash(password);
          openResetHashed();
          await firstHalfIn;
          return hash;
        },
      }),
      onBatch(sql) {
        if (!armed) return;
        if (sql.some((s) => s.includes('INSERT INTO sessions')) && ++loginsIn === LOGINS / 2) openFirstHalfIn();
        if (sql[0]?.startsWith('UPDATE accounts SET password_hash')) openResetIn();
      },
    });
    await h.createActiveAccount(EMAIL);
    const link = await h.forgotAndGetToken(EMAIL);
    const from = appends.length;
    armed = true;
    const [logins, reset] = await Promise.all([
      Promise.all(Array.from({ length: LOGINS }, () => h.post('/login', { email: EMAIL, password: GOOD_PASSWORD }))),
      h.post('/reset-password', { token: link, password: OTHER_PASSWORD }),
    ]);
    armed = false;

    expect(reset.status).toBe(200);
    expect(logins.map((r) => r.status)).toEqual([...Array(LOGINS / 2).fill(200), ...Array(LOGINS / 2).fill(401)]);
    expect(h.events.filter((e) => e.event === 'login_failed').map((e) => e.reason)).toEqual(Array(LOGINS / 2).fill('password-changed'));
    // On disk, in the order the units committed: the first half's sessions, then the reset, and no
    // session after it. How the units split into groups (one fsync each) depends on the machine's
    // load; the order and the rows written do not.
    const kinds = appends.slice(from).map((text) => text.split('\n').filter(Boolean).map((line) => (line.includes('INSERT INTO sessions') ? 'L' : line.includes('UPDATE accounts SET password_hash') ? 'R' : '-')).join(''));
    expect(kinds.join('').replaceAll('-', '')).toBe(`${'L'.repeat(LOGINS / 2)}R`);
    // The sessions the first half got ended with the reset; the second half's were never written.
    const tokens = await Promise.all(logins.filter((r) => r.status === 200).map(async (r) => ((await r.json()) as { session: { token: string } }).session.token));
    const rows = (await h.db.prepare('SELECT id, revoked_at AS revokedAt FROM sessions ORDER BY id').all<{ id: string; revokedAt: number | null }>()).results;
    expect(rows.map((r) => r.id)).toEqual(tokens.map((t) => t.split('.')[0]).sort());
    expect(rows.every((r) => r.revokedAt !== null)).toBe(true);
    for (const token of tokens) expect((await h.bearer('GET', '/session', token)).status).toBe(401);
    h.clock.now += 2 * 3_600_000;
    expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(401);
    expect((await h.post('/login', { email: EMAIL, password: OTHER_PASSWORD })).status).toBe(200);
    expect(await fromDisk()).toBe(await dump(h.db));
  });
});
