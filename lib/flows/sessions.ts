/**
 * What a session can do with itself and its siblings: say who it is, end itself (logout), list the
 * account's live sessions, and end one of them. Only the account's own sessions can be seen or
 * ended: another account's session id is answered exactly as an id that does not exist.
 */
import type { Config } from '../config/config.ts';
import type { EventLog } from '../log.ts';
import type { Database } from '../storage/db.ts';
import { liveSessions, revokeSession, type LiveSession, type SessionRow } from '../storage/sessions.ts';

export interface SessionServices {
  db: Database;
  config: Pick<Config, 'sessions'>;
  log: EventLog;
}

export type CurrentOutcome = { kind: 'current'; session: LiveSession };
export type LogoutOutcome = { kind: 'ended' };
export type ListOutcome = { kind: 'listed'; currentId: string; sessions: Array<SessionRow & { expiresAt: number }> };
export type EndOneOutcome = { kind: 'ended' } | { kind: 'unknown' };

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
