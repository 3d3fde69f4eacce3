import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { batchedLines } from '../../functions/stdout-lines.ts';
import { until } from '../support/until.ts';

describe('the Node server’s event lines (functions/stdout-lines.ts)', () => {
  it('writes the lines of one turn in one write, in order, and the next turn’s after them', async () => {
    const writes: string[] = [];
    const lines = batchedLines((text) => writes.push(text));
    lines.writeLine('one');
    lines.writeLine('two');
    expect(writes).toEqual([]);
    await until(() => writes.length === 1 || undefined, 'the first turn’s write');
    expect(writes).toEqual(['one\ntwo\n']);
    lines.writeLine('three');
    await until(() => writes.length === 2 || undefined, 'the second turn’s write');
    expect(writes).toEqual(['one\ntwo\n', 'three\n']);
  });

  it('writes what is waiting when the process exits, by process.exit or an uncaught error', () => {
    const module = fileURLToPath(new URL('../../functions/stdout-lines.ts', import.meta.url));
    for (const end of ['process.exit(3)', "throw new Error('boom')"]) {
      const child = spawnSync(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', `const { stdoutLines } = await import(${JSON.stringify(module)}); const w = stdoutLines(); w.writeLine('first'); w.writeLine('last'); ${end};`],
        { encoding: 'utf8' },
      );
      expect(child.status, child.stderr).not.toBe(0);
      expect(child.stdout).toBe('first\nlast\n');
    }
  });
});
