// lib/policy/ip-addresses.ts against the address tests alone (vitest.mutation-addresses.config.ts):
//   npx stryker run stryker.addresses.config.mjs
// A lower bound of its score: a mutant these tests miss may still fail elsewhere in the suite.
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  vitest: { configFile: 'vitest.mutation-addresses.config.ts', related: false },
  mutate: ['lib/policy/ip-addresses.ts'],
  incremental: false,
  htmlReporter: { fileName: 'reports/mutation-addresses/index.html' },
  jsonReporter: { fileName: 'reports/mutation-addresses/mutation.json' },
  tempDirName: 'reports/mutation-addresses/.stryker-tmp',
};
