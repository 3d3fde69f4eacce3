/**
 * DATA_KEY on Node when the operator sets none: a random key kept in a file beside the database
 * (`<DATABASE_PATH>.data-key`, mode 0600), made on first start and read on every later one, so the
 * outbox's sealed mails open after a restart. A copy of the database file alone holds no usable
 * link; whoever also takes this file can read them, which is why an operator who backs up the
 * database elsewhere sets DATA_KEY from a secret store instead.
 */
import * as nodeFs from 'node:fs';
import { dirname } from 'node:path';
import { newDataKey, parseDataKey } from '../../crypto/seal.ts';
import { syncDirectory } from './files.ts';

export const dataKeyPathOf = (databasePath: string) => `${databasePath}.data-key`;

export function dataKeyBesideDatabase(databasePath: string): Uint8Array {
  const path = dataKeyPathOf(databasePath);
  try {
    // 'wx': made only if absent, so two starts cannot each write a different key.
    const fd = nodeFs.openSync(path, 'wx', 0o600);
    try {
      nodeFs.fchmodSync(fd, 0o600);
      nodeFs.writeSync(fd, `${newDataKey()}\n`);
      nodeFs.fsyncSync(fd);
    } finally {
      nodeFs.closeSync(fd);
    }
    syncDirectory(dirname(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const key = parseDataKey(nodeFs.readFileSync(path, 'utf8'));
  if (!key) throw new Error(`${path} does not hold a data key: set DATA_KEY, or move the file away to make a new one (mails still in the outbox are then given up)`);
  return key;
}
