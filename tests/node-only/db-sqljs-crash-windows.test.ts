// Each crash window of the sql.js adapter's journal + snapshot scheme, reproduced by putting the
// files into the state a crash (or a failing disk) would leave, then opening the database again.
// An engine that is not closed stands for a process that was killed: nothing after the last
// acknowledged write ran. The process-level SIGKILL test is crash.test.ts.
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lockIsFree } from '../support/lock-holder.ts';
import { hit } from '../support/throttle-calls.ts';
import { DatabaseFileError, journalPathOf, lockPathOf, snapshotTempPathOf } from '../../lib/storage/sqljs/files.ts';
import type { WriteIo } from '../../lib/storage/sqljs/journal.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase, type SqlJsDatabase, type SqlJsOptions } from '../../lib/storage/sqljs/open.ts';

const migrations = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));

let dir: string;
let path: string;
let journal: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-windows-'));
  path = join(dir, 'accounts.sqlite');
  journal = journalPathOf(path);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

// A deferred foreign key is checked only at COMMIT, after the journal append.
const deferred: Array<[string, string]> = [
  ['0001_test.sql', `CREATE TABLE parent (id INTEGER PRIMARY KEY) STRICT;
    CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED) STRICT;`],
];

const open = (options: Partial<SqlJsOptions> = {}) => openSqlJsDatabase({ path, migrations, ...options });

async function addAccount(db: SqlJsDatabase, n: number): Promise<void> {
  await db
    .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
    .bind(randomUUID(), `u${n}@example.com`, `u${n}@example.com`, `$scrypt$test${n}`, n, n)
    .run();
}

async function accountNumbers(db: SqlJsDatabase): Promise<number[]> {
  const { results } = await db.prepare('SELECT created_at AS n FROM accounts ORDER BY created_at').all<{ n: number }>();
  return results.map((r) => r.n);
}

/** Reopens after a "crash" (the old engine is simply abandoned), reads, and closes cleanly. */
async function numbersAfterRestart(): Promise<number[]> {
  const db = await open();
  try {
    return await accountNumbers(db);
  } finally {
    db.close();
  }
}

/** Fault switches over the real file operations. */
function faultyIo() {
  const faults = { write: 0, fsync: 0, truncate: 0, rename: 0, partialWrite: false };
  const io: Partial<WriteIo> = {
    writeSync(fd, buffer, offset, length) {
      if (faults.partialWrite) {
        faults.partialWrite = false;
        return fs.writeSync(fd, buffer, offset, Math.max(1, Math.floor(length / 2)));
      }
      if (faults.write > 0) {
        faults.write--;
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      return fs.writeSync(fd, buffer, offset, length);
    },
    fsyncSync(fd) {
      if (faults.fsync > 0) {
        faults.fsync--;
        throw Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' });
      }
      fs.fsyncSync(fd);
    },
    ftruncateSync(fd, length) {
      if (faults.truncate > 0) {
        faults.truncate--;
        throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
      }
      fs.ftruncateSync(fd, length);
    },
    renameSync(from, to) {
      if (faults.rename > 0) {
        faults.rename--;
        throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
      }
      fs.renameSync(from, to);
    },
  };
  return { faults, io };
}

/** Counts the journal's fsyncs and records, at each one, how many journal bytes it made durable. */
function countingIo() {
  const synced: number[] = [];
  const io: Partial<WriteIo> = {
    fsyncSync(fd) {
      fs.fsyncSync(fd);
      synced.push(fs.fstatSync(fd).size);
    },
  };
  return { synced, io };
}

describe('sql.js adapter: crash windows', () => {
  it('keeps every acknowledged write when the process dies without closing', async () => {
    const db = await open();
    for (let n = 1; n <= 5; n++) await addAccount(db, n);
    // no close(): the process "died" here
    expect(await numbersAfterRestart()).toEqual([1, 2, 3, 4, 5]);
  });

  it('replays nothing twice after a crash between the snapshot rename and the journal truncation', async () => {
    const db = await open();
    await addAccount(db, 1);
    await addAccount(db, 2);
    const journalBeforeSnapshot = readFileSync(journal);
    expect(journalBeforeSnapshot.length).toBeGreaterThan(0);
    db.snapshot();
    expect(statSync(journal).size).toBe(0);
    await addAccount(db, 3);
    // The state a crash right after rename() leaves: the new snapshot, and the journal still
    // holding the entries the snapshot already has (plus a later one).
    writeFileSync(journal, Buffer.concat([journalBeforeSnapshot, readFileSync(journal)]));
    expect(await numbersAfterRestart()).toEqual([1, 2, 3]);

    const again = await open();
    await addAccount(again, 4);
    again.close();
    expect(await numbersAfterRestart()).toEqual([1, 2, 3, 4]);
  });

  it('drops a torn last journal line (an append cut short) and keeps appending after it', async () => {
    const db = await open();
    await addAccount(db, 1);
    await addAccount(db, 2);
    const whole = readFileSync(journal, 'utf8');
    const lastLine = whole.trimEnd().split('\n').at(-1)!;
    const torn = lastLine.replace('"seq":2', '"seq":3').slice(0, Math.floor(lastLine.length / 2));
    appendFileSync(journal, torn);

    const reopened = await open();
    expect(await accountNumbers(reopened)).toEqual([1, 2]);
    expect(statSync(journal).size).toBe(Buffer.byteLength(whole));
    await addAccount(reopened, 3);
    expect(await numbersAfterRestart()).toEqual([1, 2, 3]);
  });

  it('refuses a journal damaged before its last line, naming it, and changes no file', async () => {
    const db = await open();
    await addAccount(db, 1);
    await addAccount(db, 2);
    const lines = readFileSync(journal, 'utf8').split('\n');
    lines[0] = lines[0]!.replace('{"seq"', '{"sex"');
    writeFileSync(journal, lines.join('\n'));
    const before = { db: readFileSync(path), journal: readFileSync(journal) };
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseFileError);
    expect((error as Error).message).toContain(journal);
    expect((error as Error).message).toMatch(/line 1 is damaged.*backup/);
    expect(readFileSync(path).equals(before.db)).toBe(true);
    expect(readFileSync(journal).equals(before.journal)).toBe(true);
    expect(lockIsFree(lockPathOf(path), path)).toBe(true); // the refused start let go of the lock
  });

  it('ignores and removes a snapshot temp file cut short by a crash', async () => {
    const db = await open();
    await addAccount(db, 1);
    writeFileSync(snapshotTempPathOf(path), 'SQLite format 3\u0000 and then nothing useful');
    expect(await numbersAfterRestart()).toEqual([1]);
    expect(existsSync(snapshotTempPathOf(path))).toBe(false);
  });

  it('a failed fsync of the journal fails the write, leaves no row in memory and no line on disk', async () => {
    const { faults, io } = faultyIo();
    const db = await open({ io });
    await addAccount(db, 1);
    const size = statSync(journal).size;
    faults.fsync = 1;
    await expect(addAccount(db, 2)).rejects.toThrow(/EIO/);
    expect(await accountNumbers(db)).toEqual([1]);
    expect(statSync(journal).size).toBe(size);
    await addAccount(db, 3);
    expect(await numbersAfterRestart()).toEqual([1, 3]);
  });

  it('a partial journal write that cannot be cut off at once is cut off before the next write', async () => {
    const { faults, io } = faultyIo();
    const db = await open({ io });
    await addAccount(db, 1);
    const size = statSync(journal).size;
    faults.partialWrite = true; // half the line reaches the file...
    faults.write = 1; // ...then the disk fills up
    faults.truncate = 1; // and cutting the half line off fails too
    await expect(addAccount(db, 2)).rejects.toThrow(/ENOSPC/);
    expect(statSync(journal).size).toBeGreaterThan(size); // the half line is still there
    expect(await accountNumbers(db)).toEqual([1]);

    await addAccount(db, 3); // cuts the half line off first
    const lines = readFileSync(journal, 'utf8').trimEnd().split('\n');
    // Whole lines only, and the failed write's line is not among them.
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([1, 2]);
    expect(await numbersAfterRestart()).toEqual([1, 3]);
  });

  it('refuses writes while the journal cannot be repaired, and loses nothing acknowledged', async () => {
    const { faults, io } = faultyIo();
    const db = await open({ io });
    await addAccount(db, 1);
    faults.partialWrite = true;
    faults.write = 1;
    faults.truncate = 3;
    await expect(addAccount(db, 2)).rejects.toThrow(/ENOSPC/);
    await expect(addAccount(db, 3)).rejects.toThrow(/ftruncate/);
    await expect(addAccount(db, 4)).rejects.toThrow(/ftruncate/);
    expect(await accountNumbers(db)).toEqual([1]);
    await addAccount(db, 5);
    expect(await numbersAfterRestart()).toEqual([1, 5]);
  });

  it('a COMMIT that fails after the journal line was written takes the line back out', async () => {
    const db = await open({ migrations: deferred });
    await db.prepare('INSERT INTO parent (id) VALUES (1)').run();
    const size = statSync(journal).size;
    await expect(db.prepare('INSERT INTO child (id, parent) VALUES (1, 99)').run()).rejects.toThrow(/FOREIGN KEY/);
    expect(statSync(journal).size).toBe(size);
    await db.prepare('INSERT INTO child (id, parent) VALUES (2, 1)').run();
    // "crash", restart
    const again = await open({ migrations: deferred });
    expect((await again.prepare('SELECT id FROM child').all()).results).toEqual([{ id: 2 }]);
    again.close();
  });

  it('a failed snapshot loses nothing: the temp file goes, the journal stays', async () => {
    const { faults, io } = faultyIo();
    const db = await open({ io });
    await addAccount(db, 1);
    const snapshotBefore = readFileSync(path);
    faults.rename = 1;
    expect(() => db.snapshot()).toThrow(/rename/);
    expect(existsSync(snapshotTempPathOf(path))).toBe(false);
    expect(readFileSync(path).equals(snapshotBefore)).toBe(true);
    await addAccount(db, 2);
    expect(await numbersAfterRestart()).toEqual([1, 2]);
  });

  it('a snapshot that fails after a write does not fail that write (it is already durable)', async () => {
    const { faults, io } = faultyIo();
    const failures: unknown[] = [];
    const db = await open({ io, minSnapshotBytes: 1, onSnapshotFailed: (e) => failures.push(e) });
    let n = 0;
    // Write until the journal has grown to the snapshot's size and a snapshot emptied it.
    let size = 0;
    do {
      size = statSync(journal).size;
      await addAccount(db, ++n);
    } while (statSync(journal).size > size);
    expect(statSync(journal).size).toBe(0);
    faults.rename = 100;
    while (failures.length === 0) await addAccount(db, ++n); // each resolves: acknowledged
    expect(statSync(journal).size).toBeGreaterThan(0);
    faults.rename = 0;
    expect(await numbersAfterRestart()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
  });

  it('keeps foreign keys on after a snapshot (D1 enforces them)', async () => {
    const db = await open();
    db.snapshot();
    const row = await db.prepare('PRAGMA foreign_keys').first<{ foreign_keys: number }>();
    expect(row?.foreign_keys).toBe(1);
    db.close();
  });

  it('refuses a journal whose database file is missing, instead of starting empty beside it', async () => {
    const db = await open();
    await addAccount(db, 1);
    rmSync(path);
    const journalBefore = readFileSync(journal);
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseFileError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(journal);
    expect(existsSync(path)).toBe(false);
    expect(readFileSync(journal).equals(journalBefore)).toBe(true);
  });

  it('refuses a database file older than its journal (say, restored from a backup alone)', async () => {
    const db = await open();
    await addAccount(db, 1);
    db.snapshot();
    const backup = readFileSync(path);
    await addAccount(db, 2);
    db.snapshot();
    await addAccount(db, 3);
    writeFileSync(path, backup);
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseFileError);
    expect((error as Error).message).toMatch(/older than its journal/);
    expect(readFileSync(path).equals(backup)).toBe(true);
  });

  for (const [label, damage] of [
    ['empty', () => Buffer.alloc(0)],
    ['not SQLite at all', () => Buffer.from('this is not a database\n'.repeat(100))],
    ['truncated', (bytes: Buffer) => bytes.subarray(0, Math.floor(bytes.length / 2))],
    ['overwritten in the middle', (bytes: Buffer) => Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(bytes.length - 4096, 0xa5)])],
  ] as Array<[string, (bytes: Buffer) => Buffer]>) {
    it(`refuses a database file that is ${label}, naming it, and leaves it as it is`, async () => {
      const db = await open();
      for (let n = 1; n <= 40; n++) await addAccount(db, n);
      db.close();
      writeFileSync(path, damage(readFileSync(path)));
      const before = readFileSync(path);
      const error = await open().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatabaseFileError);
      expect((error as Error).message).toContain(path);
      expect((error as Error).message).toMatch(/damaged.*backup/);
      expect(readFileSync(path).equals(before)).toBe(true);
    });
  }

  describe('group commit: concurrent writes share an fsync, and each is durable when its call returns', () => {
    it('N concurrent writes cost one fsync, not N, and all survive a crash', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io });
      synced.length = 0;
      const n = 20;
      await Promise.all(Array.from({ length: n }, (_, i) => addAccount(db, i + 1)));
      expect(synced.length).toBe(1);
      expect(synced.length).toBeLessThan(n);
      // no close(): the process "died" here
      expect(await numbersAfterRestart()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    });

    it('a write returns only after the fsync that covers its journal line', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io });
      for (let n = 1; n <= 5; n++) {
        await addAccount(db, n);
        // The journal as the caller sees it on return: every byte of it was covered by an fsync already.
        expect(synced.at(-1)).toBe(statSync(journal).size);
        expect(readFileSync(journal, 'utf8')).toContain(`u${n}@example.com`);
      }
    });

    it('a write waiting for its group is not seen by reads until it is durable', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io });
      synced.length = 0;
      const pending = addAccount(db, 1);
      expect(await accountNumbers(db)).toEqual([]); // memory does not run ahead of the file
      expect(synced.length).toBe(0);
      await pending;
      expect(synced.length).toBe(1);
      expect(await accountNumbers(db)).toEqual([1]);
    });

    it('a failed fsync fails every write of its group, leaves no row and no line, and the next write works', async () => {
      const { faults, io } = faultyIo();
      const db = await open({ io });
      await addAccount(db, 1);
      const size = statSync(journal).size;
      faults.fsync = 1;
      const results = await Promise.allSettled([2, 3, 4].map((n) => addAccount(db, n)));
      expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(await accountNumbers(db)).toEqual([1]);
      expect(statSync(journal).size).toBe(size);
      await addAccount(db, 5);
      expect(await numbersAfterRestart()).toEqual([1, 5]);
    });

    it('one failing write in a group fails alone: the others commit and are durable', async () => {
      const db = await open();
      await addAccount(db, 1);
      const duplicate = db
        .prepare('INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .bind(randomUUID(), 'u1@example.com', 'u1@example.com', '$scrypt$dup', 99, 99)
        .run();
      const results = await Promise.allSettled([addAccount(db, 2), duplicate, addAccount(db, 3)]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await numbersAfterRestart()).toEqual([1, 2, 3]);
    });

    it('a COMMIT that fails for one write of a group (a deferred constraint) fails only that write', async () => {
      const db = await open({ migrations: deferred });
      await db.prepare('INSERT INTO parent (id) VALUES (1)').run();
      const results = await Promise.allSettled([
        db.prepare('INSERT INTO child (id, parent) VALUES (1, 1)').run(),
        db.prepare('INSERT INTO child (id, parent) VALUES (2, 99)').run(),
        db.prepare('INSERT INTO child (id, parent) VALUES (3, 1)').run(),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      // no close(): "crash", restart
      const reopened = await open({ migrations: deferred });
      expect((await reopened.prepare('SELECT id FROM child ORDER BY id').all()).results).toEqual([{ id: 1 }, { id: 3 }]);
      reopened.close();
    });

    it('close() commits the writes still waiting for their group before it lets go', async () => {
      const db = await open();
      const pending = addAccount(db, 1);
      db.close();
      await pending;
      expect(await numbersAfterRestart()).toEqual([1]);
    });
  });

  // The per-client counters (throttle.ts hit()) are soft writes: no fsync of their own.
  describe('soft writes: no fsync of their own, lost to no process crash, to a machine crash only as the last lines', () => {
    const KEY = 'client:activate:203.0.113.9';
    const RULE = { limit: 10, windowSeconds: 60 };
    async function hitsAfterRestart(): Promise<number | undefined> {
      const db = await open();
      try {
        return (await db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(KEY).first<{ hits: number }>())?.hits;
      } finally {
        db.close();
      }
    }

    it('N concurrent throttle hits cost no fsync, count exactly, and a process crash loses none', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io });
      synced.length = 0;
      const verdicts = await Promise.all(Array.from({ length: 12 }, () => hit(db, KEY, RULE, 1000)));
      expect(verdicts.filter((v) => v.ok)).toHaveLength(10);
      expect(synced).toEqual([]);
      // no close(): the process died here; what it wrote is in the kernel's cache, and so in the file
      expect(await hitsAfterRestart()).toBe(10);
    });

    it('a durable write in the same group still returns only after an fsync, which covers the soft lines too', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io });
      synced.length = 0;
      await Promise.all([hit(db, KEY, RULE, 1000), addAccount(db, 1), hit(db, KEY, RULE, 1000)]);
      expect(synced).toEqual([statSync(journal).size]);
    });

    it('a machine crash loses only the soft lines after the last fsync: never a durable write, and the file opens', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io, softSyncMs: 60_000 });
      await addAccount(db, 1);
      for (let i = 0; i < 3; i++) await hit(db, KEY, RULE, 1000);
      await addAccount(db, 2); // its fsync takes the three hits to the disk with it
      for (let i = 0; i < 2; i++) await hit(db, KEY, RULE, 1000);
      expect(statSync(journal).size).toBeGreaterThan(synced.at(-1)!);
      // The worst a power cut can do: the journal as of the last fsync.
      fs.truncateSync(journal, synced.at(-1)!);
      expect(await numbersAfterRestart()).toEqual([1, 2]);
      expect(await hitsAfterRestart()).toBe(3);
    });

    it('soft lines reach the disk within softSyncMs when no durable write comes', async () => {
      const { synced, io } = countingIo();
      const db = await open({ io, softSyncMs: 50 });
      synced.length = 0;
      await hit(db, KEY, RULE, 1000);
      expect(synced).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(synced).toEqual([statSync(journal).size]);
      db.close();
    });

    it('a failed deferred flush is reported, and a snapshot holds the soft writes in its place', async () => {
      const { faults, io } = faultyIo();
      const failures: unknown[] = [];
      const db = await open({ io, softSyncMs: 50, onSyncFailed: (e) => failures.push(e) });
      await hit(db, KEY, RULE, 1000);
      await hit(db, KEY, RULE, 1000);
      faults.fsync = 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(failures).toHaveLength(1);
      expect(statSync(journal).size).toBe(0); // the snapshot took the journal's place
      // Even a power cut now loses nothing: the snapshot was fsynced and renamed.
      expect(await hitsAfterRestart()).toBe(2);
    });
  });
});
