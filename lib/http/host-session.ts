/**
 * requireSession() for a host's own routes, when Latchkey is a library inside someone's Hono app:
 * the token from `Authorization: Bearer` or from a cookie the host names, checked by the same
 * flow as GET /session (lib/flows/sessions.ts: expiry, sliding, the log's reason), and the account
 * and session handed to the route as the JSON API shows them, never a hash. Without a live
 * session: Latchkey's 401, problem+json with `WWW-Authenticate: Bearer`; with the database down,
 * its 503 with Retry-After.
 *
 * The host's routes do not run through Latchkey's app, so nothing here reads what its middleware
 * sets on a request; the services come from the Latchkey that made this middleware.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { Deps } from '../deps.ts';
import { checkSession } from '../flows/sessions.ts';
import { DatabaseUnavailableError } from '../storage/db.ts';
import { bearerToken } from './bearer.ts';
import { edgeProblem } from './respond.ts';
import { sessionView, userView } from './schemas.ts';

/** The account behind the session, as GET /session shows it. */
export type LatchkeyUser = ReturnType<typeof userView>;
/** The session itself, as GET /session shows it: no token, no hash. */
export type LatchkeySession = ReturnType<typeof sessionView>;

/** What requireSession() sets for the routes behind it: `c.var.user`, `c.var.session`. */
export interface LatchkeyVariables {
  user: LatchkeyUser;
  session: LatchkeySession;
}

export interface RequireSessionOptions {
  /**
   * A cookie that holds the token, read when the request has no Authorization header (a header,
   * even a bad one, is the one answered). The host sets it, and guards its own state-changing
   * routes against cross-site requests (SameSite, `__Host-`): a cookie is sent by any page.
   */
  cookie?: string;
}

export function hostSessionGuard(deps: Deps, options: RequireSessionOptions = {}): MiddlewareHandler<{ Variables: LatchkeyVariables }> {
  return async function requireLatchkeySession(c, next) {
    const header = c.req.header('authorization');
    const token = header === undefined && options.cookie !== undefined ? getCookie(c, options.cookie) : bearerToken(header);
    // Read at the request, not when made: the Node server may replace deps.config once it listens.
    const { db, config, now } = deps;
    const log: Deps['log'] = (event, fields) => deps.log(event, { ...fields, client: deps.clientAddress(c as Context), path: c.req.path });
    let checked: Awaited<ReturnType<typeof checkSession>>;
    try {
      checked = await checkSession({ db, config, log }, token, now());
    } catch (error) {
      // As Latchkey's own routes answer it (functions/app.ts), not as the host's error handler would:
      // a 503 the client may retry, not a 500 that may carry a driver's words.
      if (!(error instanceof DatabaseUnavailableError)) throw error;
      log('database_unavailable', { reason: error.cause instanceof Error ? error.cause.name : 'unknown' });
      return edgeProblem({ kind: 'unavailable' });
    }
    if (!checked.ok) return edgeProblem({ kind: 'unauthenticated' });
    c.set('user', userView(checked.session.account));
    c.set('session', sessionView(checked.session));
    await next();
  };
}
