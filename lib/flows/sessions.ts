/**
 * What a session can do with itself and its siblings: say who it is, end itself (logout), list the
 * account's live sessions, and end one of them. Only the account's own sessions can be seen or
 * ended: another account's session id is answered exactly as an id that does not exist.
 */
import type { Config } from '../config/config.ts';
import type { EventLog } from '../log.ts';
import type { Database } from '../storage/db.ts';
import { authenticate, expiryOf, liveSessions, revokeSession, slideSession, type LiveSession, type SessionRow } from '../storage/sessions.ts';

export interface SessionServices {
  db: Database;
  config: Pick<Config, 'sessions'>;
  log: EventLog;
}

export type CurrentOutcome = { kind: 'current'; session: LiveSession };
export type LogoutOutcome = { kind: 'ended' };
export type ListOutcome = { kind: 'listed'; currentId: string; sessions: Array<SessionRow & { expiresAt: number }> };
export type EndOneOutcome = { kind: 'ended' } | { kind: 'unknown' };

export type SessionCheck = { ok: true; session: LiveSession } | { ok: false };

/**
 * The live session a token names, its idle expiry slid if "last seen" is an hour old. The one
 * check behind every route that needs a session: Latchkey's own (lib/http/bearer.ts) and a host
 * app's (lib/http/host-session.ts), so both decide expiry and sliding alike. Why a token failed
 * goes to the log only (a revoked token in use may be a stolen one); the caller learns no more.
 */
export async function checkSession(services: SessionServices, token: string | undefined, now: number): Promise<SessionCheck> {
  const { db, config } = services;
  const verdict = await authenticate(db, token, config.sessions, now);
  if (!verdict.ok) {
    services.log('session_rejected', { reason: verdict.reason });
    return { ok: false };
  }
  const session = verdict.session;
  const slide = slideSession(db, session, config.sessions, now);
  if (!slide) return { ok: true, session };
  await slide.run();
  return { ok: true, session: { ...session, lastSeenAt: now, expiresAt: expiryOf({ ...session, lastSeenAt: now }, config.sessions) } };
}

export const current = (session: LiveSession): CurrentOutcome => ({ kind: 'current', session });

/** Ends the asking session. Ended already (a logout racing another): the same answer, no write. */
export async function logout(services: SessionServices, session: LiveSession, now: number): Promise<LogoutOutcome> {
  const { meta } = await revokeSession(services.db, session.accountId, session.id, services.config.sessions, now).run();
  if (meta.changes === 1) services.log('session_ended', { accountId: session.accountId, session: session.id, reason: 'logout' });
  return { kind: 'ended' };
}

export async function listSessions(services: SessionServices, session: LiveSession, now: number): Promise<ListOutcome> {
  const sessions = await liveSessions(services.db, session.accountId, services.config.sessions, now);
  return { kind: 'listed', currentId: session.id, sessions };
}

/** Ends one of the account's live sessions by its id (the asking one included); unknown otherwise. */
export async function endSession(services: SessionServices, session: LiveSession, id: string, now: number): Promise<EndOneOutcome> {
  const { meta } = await revokeSession(services.db, session.accountId, id, services.config.sessions, now).run();
  if (meta.changes !== 1) return { kind: 'unknown' };
  services.log('session_revoked', { accountId: session.accountId, session: id, by: session.id });
  return { kind: 'ended' };
}
