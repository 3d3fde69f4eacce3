/**
 * Bearer authentication (RFC 6750) for the routes that act for a logged-in account: the session
 * that `Authorization: Bearer <token>` names, or one 401 for a token that is missing, malformed,
 * unknown, expired or ended — after the same work in every one of those cases (one indexed read,
 * one SHA-256, one constant-time compare: lib/storage/sessions.ts), so that neither the answer nor
 * its timing tells a guesser which ids exist. A live session's "last seen" moves at most hourly.
 */
import { authenticate, expiryOf, slideSession, type LiveSession } from '../storage/sessions.ts';
import type { AppContext } from './context.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respondEdge } from './respond.ts';

const BEARER = /^Bearer +(\S+) *$/i;

/** The token in an Authorization header; anything else there counts as a malformed token. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}

export function requireSession(): AnsweringMiddleware {
  return answering(
    async function authenticateBearer(c, next) {
      const { db, config, now } = c.get('deps');
      const at = now();
      const verdict = await authenticate(db, bearerToken(c.req.header('authorization')), config.sessions, at);
      if (!verdict.ok) {
        // A revoked token in use may be a stolen one: the reason is for the log, never the answer.
        c.get('log')('session_rejected', { reason: verdict.reason });
        return respondEdge(c, { kind: 'unauthenticated' });
      }
      const session = verdict.session;
      const slide = slideSession(db, session, config.sessions, at);
      if (slide) await slide.run();
      const seen = slide ? { ...session, lastSeenAt: at, expiresAt: expiryOf({ ...session, lastSeenAt: at }, config.sessions) } : session;
      c.set('session', seen);
      await next();
    },
    ['unauthenticated', 'unavailable'],
  );
}

/** The session that requireSession() found; only routes behind it may ask. */
export function sessionOf(c: AppContext): LiveSession {
  const session = c.get('session');
  if (!session) throw new Error('sessionOf() on a route without requireSession()');
  return session;
}
