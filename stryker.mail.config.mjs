// The mail outbox, its courier and the seal against the mail tests alone
// (vitest.mutation-mail.config.ts): npx stryker run stryker.mail.config.mjs
// A lower bound of their scores: a mutant these tests miss may still fail elsewhere in the suite.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation-mail.config.ts', related: false },
  mutate: ['lib/mail/courier.ts', 'lib/mail/outbox.ts', 'lib/storage/outbox.ts', 'lib/crypto/seal.ts'],
  incremental: false,
  htmlReporter: { fileName: 'reports/mutation-mail/index.html' },
  jsonReporter: { fileName: 'reports/mutation-mail/mutation.json' },
  tempDirName: 'reports/mutation-mail/.stryker-tmp',
};
