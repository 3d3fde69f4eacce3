// The address tests alone, for mutating lib/policy/ip-addresses.ts (stryker.addresses.config.mjs):
// the parser runs on every request, so under the full mutation project every one of its mutants
// reran nearly the whole suite, over an hour on 2 cores. Against these files a survivor may still
// be killed by the rest of the suite, so the score is a lower bound.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: { alias: { '#backend': here('./tests/support/backend.node.ts') } },
  test: {
    name: 'node',
    include: ['tests/client-address.test.ts', 'tests/client-address-forgery.test.ts', 'tests/development-mode.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
