/**
 * The README's "Call it from another Worker" is examples/app-worker, which
 * tests/workerd-only/app-worker.test.ts runs: its code block is the example's Worker to the letter,
 * and its wrangler.toml lines are the example's binding, naming the Worker that Latchkey's own
 * wrangler.toml deploys. (In workerd a test cannot read these files.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(join(root, path), 'utf8');
const section = () => {
  const readme = read('README.md');
  const start = readme.indexOf('## Call it from another Worker');
  expect(start).toBeGreaterThan(0);
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
};

describe("the README's Worker-to-Worker example", () => {
  it('is examples/app-worker/src/index.ts, to the letter', () => {
    expect(/```ts\n([\s\S]*?)```/.exec(section())?.[1]).toBe(read('examples/app-worker/src/index.ts'));
  });

  it("binds what examples/app-worker/wrangler.toml binds, to the Worker Latchkey's wrangler.toml names", () => {
    const lines = /```toml\n([\s\S]*?)```/.exec(section())?.[1];
    expect(lines).toBeDefined();
    expect(read('examples/app-worker/wrangler.toml')).toContain(lines);
    expect(lines).toMatch(/^binding = "AUTH"$/m);
    const latchkeyName = /^name = "([^"]+)"/m.exec(read('wrangler.toml'))?.[1];
    expect(lines).toContain(`service = "${latchkeyName}"`);
  });
});
