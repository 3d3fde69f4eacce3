/**
 * What every handler finds on its request context, set once per request by functions/app.ts.
 * Read it with c.get('deps'), not c.var.deps: Hono's c.var builds a new object of every variable on
 * each access, a cost each cheap request paid several times over.
 */
import type { Context } from 'hono';
import type { Deps } from '../deps.ts';
import type { EventLog } from '../log.ts';
import type { LiveSession, PresentedSession } from '../flows/sessions.ts';
import type { Admission } from '../storage/throttle.ts';

/** Whether a route answers people with pages: always (a page a browser opens), or when asked. */
export type PageMode = 'always' | 'negotiated';

export interface AppEnv {
  Bindings: Record<string, unknown>;
  Variables: {
    /** The services, the same object for every request of a runtime. */
    deps: Deps;
    /** The caller's address (lib/http/client-address.ts). */
    client: string;
    /** The event log with this request's client and path added to every event. */
    log: EventLog;
    pages?: PageMode;
    /** Headers a route's answers carry on top of the shared ones (the demo page's own CSP). */
    headers?: Record<string, string>;
    /** The session the bearer token named, on the routes that require one (lib/http/bearer.ts). */
    session?: LiveSession;
    /** The bearer token a flow checks in its own first batch (lib/http/bearer.ts requireSessionInFlow). */
    presented?: PresentedSession;
    /**
     * The request's hit on its endpoint's per-client window, for the flow's first batch to carry
     * (lib/http/limit-per-client.ts); null when the window is off.
     */
    admission?: Admission | null;
  };
}

export type AppContext = Context<AppEnv>;
