/**
 * The sql.js adapter's files on disk: their names, the errors that name them, and creating them
 * private. The database holds password hashes and activation-token hashes, so its files are made
 * 0600 and a data directory the server creates 0700, whatever the umask (docs/reliability.md).
 */
import * as nodeFs from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The database file cannot be used as it is; the message says which file and what to do. */
export class DatabaseFileError extends Error {
  override name = 'DatabaseFileError';
}

/** What to do about a damaged database file or journal: Latchkey never starts empty over one. */
export function damagedAdvice(path: string): string {
  return (
    `Latchkey will not replace it with an empty one. Restore ${path} and ${journalPathOf(path)} from a backup, ` +
    `or move both away to start with an empty database.`
  );
}

export const journalPathOf = (path: string) => `${path}.latchkey-journal`;
export const lockPathOf = (path: string) => `${path}.lock`;
export const snapshotTempPathOf = (path: string) => `${path}.tmp`;

const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIRECTORY_MODE = 0o700;

/**
 * Opens (creating if need be) a file only its owner may read. The mode given to open() is masked
 * by the umask, and an existing file keeps its old mode: fchmod makes it exact either way.
 */
export function openPrivate(path: string, flags: 'a' | 'w'): number {
  const fd = nodeFs.openSync(path, flags, PRIVATE_FILE_MODE);
  try {
    nodeFs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } catch (error) {
    nodeFs.closeSync(fd);
    throw error;
  }
  return fd;
}

/**
 * Makes the directory (and any missing parents) 0700. Directories that already exist keep their
 * mode: they are the operator's.
 */
export function makePrivateDirectory(dir: string): void {
  const first = nodeFs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIRECTORY_MODE });
  if (first === undefined) return;
  // mkdir's mode is masked by the umask: set it on each directory made, from the first one down.
  for (let made = resolve(dir); ; made = dirname(made)) {
    nodeFs.chmodSync(made, PRIVATE_DIRECTORY_MODE);
    if (made === resolve(first) || made === dirname(made)) break;
  }
}

export function syncDirectory(dir: string): void {
  const fd = nodeFs.openSync(dir, 'r');
  try {
    nodeFs.fsyncSync(fd);
  } finally {
    nodeFs.closeSync(fd);
  }
}

export function sizeOf(path: string): number {
  try {
    return nodeFs.statSync(path).size;
  } catch {
    return 0;
  }
}

export function unlinkQuietly(path: string): void {
  try {
    nodeFs.unlinkSync(path);
  } catch {
    // already gone
  }
}
