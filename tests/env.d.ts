declare namespace Cloudflare {
  interface Env {
    DB: D1Database;
    SCHEMA_DB: D1Database;
    TEST_MIGRATIONS: import('cloudflare:test').D1Migration[];
    TEST_SCHEMA_SQL: string;
    EMAIL: SendEmail;
    /** examples/app-worker, the second Worker of the workerd project (vitest.config.ts). */
    APP_WORKER: Fetcher;
  }
}

declare module '#backend' {
  export const backend: import('./support/backend.ts').Backend;
}
