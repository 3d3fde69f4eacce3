// The mail tests alone, for mutating the outbox, the courier and the seal (stryker.mail.config.mjs):
// a few seconds a run instead of the whole suite per mutant. Against these files a survivor may
// still be killed by the rest of the suite, so the score is a lower bound.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: { alias: { '#backend': here('./tests/support/backend.node.ts') } },
  test: {
    name: 'node',
    include: ['tests/mail-faults.test.ts', 'tests/mail-delivery.test.ts', 'tests/seal.test.ts', 'tests/mail-config.test.ts', 'tests/enumeration.test.ts'],
    environment: 'node',
    globalSetup: [here('./tests/support/webhook-receiver.global.ts')],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
