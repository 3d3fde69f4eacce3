/**
 * Cloudflare Workers entry (wrangler.toml's main). Its default export is a WorkerEntrypoint, so
 * the same Worker answers HTTP (fetch), its crons (scheduled), and another Worker's calls over a
 * service binding (RPC): `await env.AUTH.verifySession(token)`. Each does what
 * functions/worker-handlers.ts does with this env; RPC adds no decision of its own.
 *
 * RPC needs no flag: it is on from compatibility_date 2024-04-03, and wrangler.toml's is newer.
 */
import { WorkerEntrypoint } from 'cloudflare:workers';
import type { VerifiedSession } from './latchkey.ts';
import { latchkeyFor, workerHandlers, type WorkerEnv } from './worker-handlers.ts';

export type { WorkerEnv } from './worker-handlers.ts';
export type { VerifiedSession } from './latchkey.ts';

// A caller over RPC has no client address or path: its events say how they came instead.
const RPC_CALL = { logFields: { via: 'rpc' } };

export default class LatchkeyWorker extends WorkerEntrypoint<WorkerEnv> {
  override fetch(request: Request): Promise<Response> {
    return Promise.resolve(workerHandlers.fetch(request, this.env, this.ctx));
  }

  override scheduled(controller: ScheduledController): Promise<void> {
    return workerHandlers.scheduled(controller, this.env);
  }

  /**
   * GET /session's 200 body for this token, or null: the same check (expiry, the hourly slide,
   * session_rejected in the log). Throws when the database does not answer, so that an outage is
   * never taken for a logged-out user.
   */
  verifySession(token: string): Promise<VerifiedSession | null> {
    return latchkeyFor(this.env).verifySession(token, RPC_CALL);
  }

  /** Ends this token's session as POST /logout does; false when it named no live session. */
  revokeSession(token: string): Promise<boolean> {
    return latchkeyFor(this.env).revokeSession(token, RPC_CALL);
  }
}
