/**
 * The dependency rule of docs/architecture.md, checked on the source: a module imports only from
 * its own layer or from layers below it, and lib/ never from functions/. The layers, top to bottom,
 * are the rows of the table in that document.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');

/** The composition root (functions/latchkey.ts) and the app it builds: under the entries, over the endpoints. */
const COMPOSITION_ROOT = ['functions/latchkey.ts', 'functions/api.ts', 'functions/app.ts'];

/** Top to bottom; a file belongs to the first layer whose test matches its path. */
const LAYERS: { name: string; holds: (path: string) => boolean }[] = [
  { name: 'runtime entries', holds: (p) => /^functions\/[^/]+\.ts$/.test(p) && !COMPOSITION_ROOT.includes(p) },
  { name: 'composition root', holds: (p) => COMPOSITION_ROOT.includes(p) },
  { name: 'endpoints', holds: (p) => p.startsWith('functions/endpoints/') },
  { name: 'http', holds: (p) => p.startsWith('lib/http/') },
  { name: 'pages', holds: (p) => p.startsWith('lib/pages/') },
  { name: 'services', holds: (p) => p === 'lib/deps.ts' },
  { name: 'flows', holds: (p) => p.startsWith('lib/flows/') },
  { name: 'mail', holds: (p) => p.startsWith('lib/mail/') },
  { name: 'storage', holds: (p) => p.startsWith('lib/storage/') },
  { name: 'config', holds: (p) => p.startsWith('lib/config/') },
  { name: 'policy', holds: (p) => p.startsWith('lib/policy/') },
  { name: 'crypto', holds: (p) => p.startsWith('lib/crypto/') },
  { name: 'log', holds: (p) => p === 'lib/log.ts' },
];

function layerOf(path: string): number {
  const index = LAYERS.findIndex((layer) => layer.holds(path));
  if (index < 0) throw new Error(`${path} is in no layer: add it to the table in docs/architecture.md and here`);
  return index;
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath, entry.name)));
}

/** Relative imports (`import … from './x.ts'`, `export … from`, `import('./x.ts')`), as repository paths. */
function importsOf(path: string): string[] {
  const text = readFileSync(join(ROOT, path), 'utf8');
  const found = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return found.map((spec) => relative(ROOT, resolve(ROOT, dirname(path), spec)));
}

/** Each import that points from a layer to one above it, as a readable line. */
function upwardImports(edges: [from: string, to: string][]): string[] {
  return edges
    .filter(([from, to]) => layerOf(to) < layerOf(from))
    .map(([from, to]) => `${from} (${LAYERS[layerOf(from)]!.name}) imports ${to} (${LAYERS[layerOf(to)]!.name})`);
}

describe('layers', () => {
  const files = [...sources('functions'), ...sources('lib')];

  it('every file of functions/ and lib/ is in a layer', () => {
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) expect(() => layerOf(file), file).not.toThrow();
  });

  it('no module imports from a layer above its own', () => {
    const edges = files.flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('lib/') || target.startsWith('functions/'))
        .map((target): [string, string] => [file, target]),
    );
    expect(edges.length).toBeGreaterThan(200);
    expect(upwardImports(edges)).toEqual([]);
  });

  it('only the composition root builds the services: no other file writes a Deps object', () => {
    const everywhere = ['functions', 'lib', 'tests', 'bench', 'scripts'].flatMap(sources);
    const builders = everywhere.filter((file) => /:\s*Deps\s*=\s*\{/.test(readFileSync(join(ROOT, file), 'utf8')));
    expect(builders).toEqual(['functions/latchkey.ts']);
  });

  it('names an upward import when there is one, and lets the same layer and lower ones pass', () => {
    expect(upwardImports([['lib/config/config.ts', 'lib/http/client-address.ts']])).toEqual([
      'lib/config/config.ts (config) imports lib/http/client-address.ts (http)',
    ]);
    expect(upwardImports([['lib/storage/accounts.ts', 'functions/app.ts']])).toHaveLength(1);
    // Settings are read without storage: the settings' shapes and defaults sit below the rows that use them.
    expect(upwardImports([['lib/config/config.ts', 'lib/storage/devices.ts']])).toHaveLength(1);
    expect(upwardImports([['lib/http/respond.ts', 'lib/http/answers.ts'], ['functions/app.ts', 'lib/log.ts']])).toEqual([]);
  });
});
