/**
 * The rules for a password someone chooses (registration, activation with a new password, reset,
 * change): the offline policy first (lib/policy/password-policy.ts), then, only for a password it
 * passes, the breached-password lookup. A lookup that could not be made never refuses: the offline
 * rules stand alone and the log says the lookup failed, so an outage of the range API is seen.
 */
import type { EventLog } from '../log.ts';
import type { BreachCheck } from '../policy/breached-passwords.ts';
import { passwordProblems, type PasswordPolicy } from '../policy/password-policy.ts';

export interface ChosenPasswordServices {
  breachedPasswords: BreachCheck;
  log: EventLog;
}

/** Its own words, so a person knows this is not about length or patterns: pick another, not a variant. */
export const BREACHED_PASSWORD_DETAIL =
  'This password appears in data breaches, so attackers try it first. Choose a different one (not a variation of it).';

/** Problems with a chosen password, as sentences for the person choosing it; empty when it is fine. */
export async function chosenPasswordProblems(
  services: ChosenPasswordServices,
  password: string,
  emailKey: string | null,
  policy: PasswordPolicy,
): Promise<string[]> {
  const offline = passwordProblems(password, emailKey, policy);
  if (offline.length > 0) return offline;
  const verdict = await services.breachedPasswords(password);
  if (verdict.kind === 'breached') return [BREACHED_PASSWORD_DETAIL];
  if (verdict.kind === 'unchecked' && verdict.reason !== 'off') services.log('breach_check_failed', { reason: verdict.reason });
  return [];
}
