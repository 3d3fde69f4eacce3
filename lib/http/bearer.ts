/**
 * Bearer authentication (RFC 6750) for the routes that act for a logged-in account: the session
 * that `Authorization: Bearer <token>` names, or one 401 for a token that is missing, malformed,
 * unknown, expired or ended. Every decision about the token is the sessions module's
 * (lib/flows/sessions.ts checkSession: the same work for every token, expiry and the hourly slide);
 * this file only reads the header and answers.
 */
import { checkSession, type LiveSession } from '../flows/sessions.ts';
import type { AppContext } from './context.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respondEdge } from './respond.ts';
import { admissionOf } from './limit-per-client.ts';

const BEARER = /^Bearer +(\S+) *$/i;

/** The token in an Authorization header; anything else there counts as a malformed token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}

/** `limited`: behind limitPerClient (bearerPost), whose hit rides in the session's read and may refuse it. */
export function requireSession(limited = false): AnsweringMiddleware {
  return answering(
    async function authenticateBearer(c, next) {
      const { db, config, now } = c.get('deps');
      const checked = await checkSession({ db, config, log: c.get('log') }, bearerToken(c.req.header('authorization')), now(), admissionOf(c));
      if (!checked.ok) return respondEdge(c, checked.refused ?? { kind: 'unauthenticated' });
      c.set('session', checked.session);
      await next();
    },
    limited ? ['unauthenticated', 'unavailable', 'throttled'] : ['unauthenticated', 'unavailable'],
  );
}

/** The session that requireSession() found; only routes behind it may ask. */
export function sessionOf(c: AppContext): LiveSession {
  const session = c.get('session');
  if (!session) throw new Error('sessionOf() on a route without requireSession()');
  return session;
}
