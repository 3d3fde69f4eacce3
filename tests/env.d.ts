declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    SCHEMA_DB: D1Database;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    TEST_SCHEMA_SQL: string;
    EMAIL: SendEmail;
    /** examples/app-worker, the second Worker of the workerd project (vitest.config.ts). */
    APP_WORKER: Fetcher;
    /** examples/hono-app's Worker entry (vitest.config.ts), and its D1 database. */
    HONO_APP: Fetcher;
    HONO_APP_DB: D1Database;
    /** A Rate Limiting binding (3 per 60 s) for tests/workerd-only/first-layer.test.ts. */
    TEST_RATE_LIMITER: RateLimit;
  }
}

declare module '#backend' {
  export const backend: import('./support/backend.ts').Backend;
}
