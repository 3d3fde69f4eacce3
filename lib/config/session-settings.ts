/** SESSION_IDLE_SECONDS and SESSION_MAX_SECONDS (lib/storage/sessions.ts). */
import { DEFAULT_SESSIONS, SLIDE_EVERY_SECONDS, type SessionPolicy } from '../storage/sessions.ts';
import { ConfigError, integer, type ConfigVars } from './vars.ts';

export function sessionPolicy(vars: ConfigVars): SessionPolicy {
  // "Last seen" moves once an hour, so an idle timeout under two hours would end busy sessions.
  const idleSeconds = integer(vars, 'SESSION_IDLE_SECONDS', DEFAULT_SESSIONS.idleSeconds, 2 * SLIDE_EVERY_SECONDS, 30 * 86_400);
  const maxSeconds = integer(vars, 'SESSION_MAX_SECONDS', DEFAULT_SESSIONS.maxSeconds, 2 * SLIDE_EVERY_SECONDS, 365 * 86_400);
  if (maxSeconds < idleSeconds) throw new ConfigError('SESSION_MAX_SECONDS must not be less than SESSION_IDLE_SECONDS');
  return { idleSeconds, maxSeconds };
}
