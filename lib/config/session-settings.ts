/** SESSION_IDLE_SECONDS and SESSION_MAX_SECONDS: the session policy that lib/flows/sessions.ts applies. */
import { ConfigError, integer, type ConfigVars } from './vars.ts';

export interface SessionPolicy {
  /** A session not seen for this long has ended. */
  idleSeconds: number;
  /** A session this old has ended, however busy it is. */
  maxSeconds: number;
}

/** NIST SP 800-63B-4's AAL1 ceiling is 30 days; a week without use ends a session sooner. */
export const DEFAULT_SESSIONS: SessionPolicy = { idleSeconds: 7 * 86_400, maxSeconds: 30 * 86_400 };

/**
 * How stale "last seen" may get before a request moves it: the write budget of a busy session.
 * Fixed, not a setting; here because the bounds below follow from it.
 */
export const SLIDE_EVERY_SECONDS = 3600;

export function sessionPolicy(vars: ConfigVars): SessionPolicy {
  // "Last seen" moves once an hour, so an idle timeout under two hours would end busy sessions.
  const idleSeconds = integer(vars, 'SESSION_IDLE_SECONDS', DEFAULT_SESSIONS.idleSeconds, 2 * SLIDE_EVERY_SECONDS, 30 * 86_400);
  const maxSeconds = integer(vars, 'SESSION_MAX_SECONDS', DEFAULT_SESSIONS.maxSeconds, 2 * SLIDE_EVERY_SECONDS, 365 * 86_400);
  if (maxSeconds < idleSeconds) throw new ConfigError('SESSION_MAX_SECONDS must not be less than SESSION_IDLE_SECONDS');
  return { idleSeconds, maxSeconds };
}
