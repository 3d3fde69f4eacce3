// The database file's lock against what supervisors and containers do to a server: a holder that
// is alive, one killed and left a zombie that nobody reaps, a lock file naming a live process that
// is not a server (a PID reused, as after a container restart), and lock files from before this
// lock. The whole-server versions (npm start killed by process group, two servers at once) are in
// server-start.test.ts and supervisor-kill.test.ts.
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLiveProcess } from '../../lib/storage/sqljs/lock.ts';
import { lockPathOf } from '../../lib/storage/sqljs/files.ts';
import { DatabaseInUseError } from '../../lib/storage/sqljs/lock.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { holdLock, isWholeZombie, lockIsFree, processState, signalable, until } from '../support/lock-holder.ts';

const migrations = readMigrations(fileURLToPath(new URL('../../migrations', import.meta.url)));

let dir: string;
let path: string;
let lock: string;
const cleanups: Array<() => void> = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-lock-'));
  path = join(dir, 'accounts.sqlite');
  lock = lockPathOf(path);
});
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  rmSync(dir, { recursive: true, force: true });
});

const open = () => openSqlJsDatabase({ path, migrations });

/** A process that is alive and is not a server: `sleep`. */
function liveStranger(): number {
  const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => sleeper.kill('SIGKILL'));
  return sleeper.pid!;
}

describe('the database lock', () => {
  it('refuses while a live process holds it, naming the file and the holder; frees it when the holder is killed', async () => {
    const holder = await holdLock(lock, path);
    cleanups.push(() => holder.parent.kill('SIGKILL'));
    const error = await open().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatabaseInUseError);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(`in use by process ${holder.pid}`);

    holder.parent.kill('SIGKILL');
    await until(() => lockIsFree(lock, path));
    (await open()).close();
  });

  it('is free as soon as its holder is killed, while the holder is still a zombie that kill(pid, 0) finds', async () => {
    const holder = await holdLock(lock, path, { unreaped: true });
    cleanups.push(() => holder.parent.kill('SIGKILL'));
    expect(lockIsFree(lock, path)).toBe(false);

    process.kill(holder.pid, 'SIGKILL');
    await until(() => isWholeZombie(holder.pid));
    expect(signalable(holder.pid)).toBe(true); // what fooled the PID check this lock replaces
    const db = await open();
    expect(processState(holder.pid)).toBe('Z'); // still unreaped when the database opened
    db.close();
  });

  it('is taken over when its file names a live process that does not hold it (a PID reused, as after a container restart)', async () => {
    const stranger = liveStranger();
    // A lock file as a killed server leaves it, with a PID that now belongs to someone else.
    const old = new DatabaseSync(lock);
    old.exec(`PRAGMA user_version = ${stranger}`);
    old.close();
    expect(isLiveProcess(stranger)).toBe(true);

    const db = await open();
    expect(lockIsFree(lock, path)).toBe(false);
    db.close();
    expect(lockIsFree(lock, path)).toBe(true);
  });

  it('treats a lock file from before this lock (a bare PID) by what that PID is: a live process, a zombie, nobody', async () => {
    const stranger = liveStranger();
    writeFileSync(lock, `${stranger}\n`);
    expect(await open().catch((e: unknown) => e)).toBeInstanceOf(DatabaseInUseError);

    const zombie = await holdLock(join(dir, 'other.lock'), join(dir, 'other'), { unreaped: true });
    cleanups.push(() => zombie.parent.kill('SIGKILL'));
    process.kill(zombie.pid, 'SIGKILL');
    await until(() => processState(zombie.pid) === 'Z');
    writeFileSync(lock, `${zombie.pid}\n`);
    (await open()).close();

    writeFileSync(lock, 'not a pid at all');
    (await open()).close();
  });

  it('keeps the lock file 0600 and leaves it in place (deleting it would let two servers lock two files)', async () => {
    const db = await open();
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    db.close();
    expect(statSync(lock).mode & 0o777).toBe(0o600);
    expect(lockIsFree(lock, path)).toBe(true);
  });
});
