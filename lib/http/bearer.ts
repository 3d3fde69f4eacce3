/**
 * Bearer authentication (RFC 6750) for the routes that act for a logged-in account: the session
 * that `Authorization: Bearer <token>` names, or one 401 for a token that is missing, malformed,
 * unknown, expired or ended. Every decision about the token is the sessions module's
 * (lib/flows/sessions.ts checkSession: the same work for every token, expiry and the hourly slide);
 * this file only reads the header and answers.
 */
import { checkSession, presentedSession, type LiveSession, type PresentedSession } from '../flows/sessions.ts';
import type { AppContext } from './context.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respond, respondEdge } from './respond.ts';
import { admissionOf } from './limit-per-client.ts';

const BEARER = /^Bearer +(\S+) *$/i;

/** The token in an Authorization header; anything else there counts as a malformed token. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  return BEARER.exec(header)?.[1] ?? '';
}

export function requireSession(): AnsweringMiddleware {
  return answering(
    async function authenticateBearer(c, next) {
      const { db, config, now } = c.get('deps');
      const checked = await checkSession({ db, config, log: c.get('log') }, bearerToken(c.req.header('authorization')), now());
      if (!checked.ok) return respondEdge(c, { kind: 'unauthenticated' });
      c.set('session', checked.session);
      await next();
    },
    ['unauthenticated', 'unavailable'],
  );
}

/**
 * requireSession() for a route whose flow checks the password or a code again: the token is left to
 * the flow (presentedOf), whose first batch reads the session beside its own charge and reads
 * (lib/flows/sessions.ts openSession). A request whose flow never got that far (a body refused, a
 * busy hasher) has its token checked here afterwards, with the window's hit, and a token that opens
 * nothing is answered 401, and a refused client 429, in place of whatever came first: the answers
 * of the middleware that checked first.
 */
export function requireSessionInFlow(limited = true): AnsweringMiddleware {
  return answering(
    async function presentBearer(c, next) {
      const presented = presentedSession(bearerToken(c.req.header('authorization')), admissionOf(c));
      c.set('presented', presented);
      await next();
      if (presented.checked) return;
      const { db, config, now } = c.get('deps');
      const checked = await checkSession({ db, config, log: c.get('log') }, presented.token, now(), presented.admission);
      if (!checked.ok) c.res = await respondEdge(c, checked.refused ?? { kind: 'unauthenticated' });
    },
    limited ? ['unauthenticated', 'unavailable', 'throttled'] : ['unauthenticated', 'unavailable'],
  );
}

/** The token that requireSessionInFlow() left to the flow; only routes behind it may ask. */
export function presentedOf(c: AppContext): PresentedSession {
  const presented = c.get('presented');
  if (!presented) throw new Error('presentedOf() on a route without requireSessionInFlow()');
  return presented;
}

/** A flow's outcome on such a route: no live session is answered as the middleware answers it. */
export function respondInFlow<O extends Outcome>(c: AppContext, table: AnswerTable<Exclude<O, { kind: 'unauthenticated' }>>, outcome: O): Promise<Response> {
  if (outcome.kind === 'unauthenticated') return respondEdge(c, { kind: 'unauthenticated' });
  return respond(c, table, outcome as Exclude<O, { kind: 'unauthenticated' }>, undefined);
}

/** The session that requireSession() found; only routes behind it may ask. */
export function sessionOf(c: AppContext): LiveSession {
  const session = c.get('session');
  if (!session) throw new Error('sessionOf() on a route without requireSession()');
  return session;
}
