import type { ExecutionContext } from 'hono';
import type { Database } from 'latchkey';
import { createApp } from './app.ts';

/** wrangler.toml's bindings: the D1 database (migrated with `wrangler d1 migrations apply`) and [vars]. */
export interface Env {
  DB: Database;
  /** Where the app is reached; on localhost (`wrangler dev`) Latchkey is in development mode. */
  PUBLIC_ORIGIN: string;
}

// An isolate serves many requests with the same bindings: one app for them all, built by the first.
let app: ReturnType<typeof createApp> | undefined;

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext) {
    app ??= createApp({
      database: env.DB,
      origin: env.PUBLIC_ORIGIN,
      // Cloudflare's edge sets CF-Connecting-IP and overwrites any value the client sent.
      clientAddress: (c) => c.req.header('CF-Connecting-IP') ?? 'unknown',
    });
    // The ctx lets Latchkey send its mails after the answer (waitUntil).
    return app.fetch(request, env, ctx);
  },
};
