/**
 * The renderer runs wherever the outbox runs, Workers included, so it and every module it pulls in
 * stay free of node: built-ins (and of packages, which would have to be checked for them in turn).
 * Read from the source, following relative imports, because a Worker with nodejs_compat would
 * run a node: import without complaint and the workerd tests could not tell.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every module reachable from `entry` by relative imports, with the non-relative specifiers it names. */
function moduleGraph(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    const text = readFileSync(resolve(ROOT, path), 'utf8');
    const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1]!);
    seen.set(path, specifiers.filter((s) => !s.startsWith('.')));
    for (const s of specifiers.filter((s) => s.startsWith('.'))) visit(relative(ROOT, resolve(ROOT, dirname(path), s)));
  };
  visit(entry);
  return seen;
}

it('lib/mail/render.ts and what it imports use no node: built-in and no package', () => {
  const graph = moduleGraph('lib/mail/render.ts');
  expect([...graph.keys()].sort()).toEqual(['lib/mail/mail-html.ts', 'lib/mail/mail.ts', 'lib/mail/render.ts', 'lib/mail/transport.ts', 'lib/policy/mail-from.ts', 'lib/policy/mail-transport-settings.ts']);
  expect([...graph].filter(([, outside]) => outside.length > 0)).toEqual([]);
});

it('would see a node: import', () => {
  expect(moduleGraph('lib/policy/emails.ts').get('lib/policy/emails.ts')).toEqual(['node:url']);
});
