// Two projects run the same test files: "node" against sql.js, "workerd" inside workerd against
// a local D1 database. `#backend` resolves to the project's own way of making a fresh database.
// tests/node-only/ needs real processes and files; tests/workerd-only/ tests the Worker entry itself.
import { cloudflareTest, getRunnerName, readD1Migrations } from '@cloudflare/vitest-plugin';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
// An HTTP peer on 127.0.0.1 for the webhook transport's tests, started in Node for either project
// (a test inside workerd cannot listen) and handed to the tests with provide/inject.
const webhookReceiver = here('./tests/support/webhook-receiver.global.ts');
// The same for the range API (breached passwords) and Turnstile's siteverify.
const thirdPartyPeers = here('./tests/support/third-party-peers.global.ts');

/**
 * examples/app-worker as the workerd project's second Worker, for tests/workerd-only/app-worker.test.ts.
 * Miniflare runs JavaScript modules only, so its TypeScript is bundled here first, as wrangler would.
 */
async function appWorker() {
  const toml = readFileSync(here('./examples/app-worker/wrangler.toml'), 'utf8');
  const bundled = await build({ entryPoints: [here('./examples/app-worker/src/index.ts')], bundle: true, format: 'esm', write: false, external: ['cloudflare:*'] });
  return {
    name: /^name = "([^"]+)"/m.exec(toml)![1]!,
    compatibilityDate: /^compatibility_date = "([^"]+)"/m.exec(toml)![1]!,
    modules: [{ type: 'ESModule' as const, path: 'index.js', contents: bundled.outputFiles[0]!.text }],
    // Its AUTH names Latchkey's Worker ("latchkey"); under the plugin, Latchkey's entry runs inside
    // the project's runner Worker, which takes the project's name, so the binding points there.
    serviceBindings: { AUTH: getRunnerName({ name: 'workerd' } as Parameters<typeof getRunnerName>[0]) },
  };
}

/**
 * examples/hono-app's Worker entry (src/worker.ts) as a third Worker, for
 * tests/workerd-only/example-hono-app.test.ts: bundled as wrangler would, with 'latchkey' taken
 * from the sources (what `npm pack` builds from them is the node-only test's subject). Its D1
 * database is one the runner binds too (HONO_APP_DB), so that the test can apply the migrations,
 * as `wrangler d1 migrations apply` would before a deploy.
 */
async function honoAppWorker() {
  const toml = readFileSync(here('./examples/hono-app/wrangler.toml'), 'utf8');
  const bundled = await build({
    entryPoints: [here('./examples/hono-app/src/worker.ts')],
    bundle: true,
    format: 'esm',
    write: false,
    alias: { latchkey: here('./functions/library.ts') },
    // The runtime's own under nodejs_compat (the example's wrangler.toml), as wrangler leaves them.
    external: ['node:*'],
  });
  return {
    name: /^name = "([^"]+)"/m.exec(toml)![1]!,
    compatibilityDate: /^compatibility_date = "([^"]+)"/m.exec(toml)![1]!,
    compatibilityFlags: JSON.parse(/^compatibility_flags = (\[.*\])$/m.exec(toml)![1]!) as string[],
    modules: [{ type: 'ESModule' as const, path: 'worker.js', contents: bundled.outputFiles[0]!.text }],
    d1Databases: { DB: HONO_APP_DATABASE },
    bindings: { PUBLIC_ORIGIN: /^PUBLIC_ORIGIN = "([^"]+)"/m.exec(toml)![1]! },
  };
}
const HONO_APP_DATABASE = 'hono-app-example';

export default defineConfig({
  test: {
    // Speed on the 2-core CI machine. Vitest's default there is one worker (cores - 1), which left a
    // core idle while node-only tests wait on the processes they start; two workers overlap them.
    maxWorkers: 2,
    projects: [
      {
        resolve: { alias: { '#backend': here('./tests/support/backend.node.ts') } },
        test: {
          name: 'node',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/workerd-only/**'],
          environment: 'node',
          // One worker process runs many files instead of a fresh one per file (sql.js, hono and the
          // schemas loaded once, not 90 times). Safe here: every test builds its own app over its own
          // database (createHarness), tests/node-only/ starts its servers as child processes, and no
          // test changes process-wide state (env, cwd, umask, globals) for the files after it.
          isolate: false,
          globalSetup: [webhookReceiver, thirdPartyPeers],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        resolve: { alias: { '#backend': here('./tests/support/backend.workerd.ts') } },
        plugins: [
          cloudflareTest(async () => {
            const [app, honoApp] = await Promise.all([appWorker(), honoAppWorker()]);
            return {
              wrangler: { configPath: './wrangler.toml' },
              miniflare: {
                d1Databases: { DB: 'latchkey-test', SCHEMA_DB: 'latchkey-schema-check', HONO_APP_DB: HONO_APP_DATABASE },
                // The local send_email binding for tests/workerd-only/mail-cloudflare.test.ts (wrangler.toml keeps
                // the real one commented: a deploy without a verified sending domain would fail).
                email: {
                  send_email: [{ name: 'EMAIL', allowed_sender_addresses: ['no-reply@latchkey.example'], allowed_destination_addresses: ['person@example.com'] }],
                },
                workers: [app, honoApp],
                // A real Rate Limiting binding for tests/workerd-only/first-layer.test.ts, under a name of its own
                // so that no other test meets it; the test hands it to the Worker as RATE_LIMITER.
                ratelimits: { TEST_RATE_LIMITER: { namespace_id: '1001', simple: { limit: 3, period: 60 } } },
                // The tests reach the app's Worker as a client would: through a binding's fetch.
                serviceBindings: { APP_WORKER: app.name, HONO_APP: honoApp.name },
                bindings: {
                  TEST_MIGRATIONS: await readD1Migrations(here('./migrations')),
                  TEST_SCHEMA_SQL: readFileSync(here('./schema.sql'), 'utf8'),
                },
              },
            };
          }),
        ],
        test: {
          name: 'workerd',
          include: ['tests/**/*.test.ts'],
          exclude: ['tests/node-only/**'],
          // One Miniflare for all the files a worker runs, not a fresh one per file (about 4 s each,
          // most of this project's time). Safe here: every test starts from emptied databases
          // (tests/support/backend.workerd.ts, which also says why reset() alone was not enough).
          isolate: false,
          globalSetup: [webhookReceiver, thirdPartyPeers],
          testTimeout: 30_000,
        },
      },
    ],
  },
});
