// The test project that mutation testing runs (npm run mutation): the handler tests on sql.js in
// Node, without the process-level tests in tests/node-only/ (real servers, browsers, SIGKILL),
// which are slow per mutant and test the Node entry rather than the security modules. The one
// in-process file there that measures hashing work is kept: it is what notices an emptied dummy.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: { alias: { '#backend': here('./tests/support/backend.node.ts') } },
  test: {
    name: 'node',
    include: ['tests/*.test.ts', 'tests/node-only/dummy-hash-work.test.ts'],
    environment: 'node',
    // The HTTP peers the handler tests talk to (the webhook receiver, the range and siteverify servers), as in vitest.config.ts.
    globalSetup: [here('./tests/support/webhook-receiver.global.ts'), here('./tests/support/third-party-peers.global.ts')],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
