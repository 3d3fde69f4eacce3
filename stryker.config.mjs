// Mutation testing of the security modules: `npm run mutation` (tens of minutes on 2 cores; not
// part of npm test). Scores and the survivors that are left, each explained: docs/testing.md.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: true },
  mutate: [
    'lib/crypto/tokens.ts',
    'lib/crypto/passwords.ts',
    'lib/policy/password-policy.ts',
    'lib/policy/emails.ts',
    'lib/http/client-address.ts',
    'lib/policy/ip-addresses.ts',
    'lib/storage/throttle.ts',
    'lib/storage/accounts.ts',
    'lib/flows/activation.ts',
    'lib/flows/login.ts',
    'lib/flows/register.ts',
    'lib/flows/resend-activation.ts',
    'lib/flows/links.ts',
    'lib/storage/devices.ts',
    'lib/storage/resets.ts',
    'lib/flows/reset-password.ts',
    'lib/storage/sessions.ts',
    'lib/storage/account-changes.ts',
    'lib/http/bearer.ts',
    'lib/flows/change-password.ts',
    'lib/flows/delete-account.ts',
    'lib/flows/password-check.ts',
    'lib/flows/sessions.ts',
  ],
  // No type checker: Stryker's TypeScript checker calls compiler APIs that TypeScript 7 no longer
  // has, and `npm test` typechecks anyway. A tsconfig that does not exist keeps Stryker's
  // TypeScript preprocessing (which fails the same way) out of the run.
  checkers: [],
  tsconfigFile: 'stryker-uses-no-tsconfig.json',
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  tempDirName: 'reports/mutation/.stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  concurrency: 2,
  timeoutMS: 30_000,
  thresholds: { high: 95, low: 90, break: null },
};
