/**
 * The login back-off as rules, apart from where its counts are kept (lib/storage/throttle.ts runs
 * them in SQL) and from the settings that choose its numbers (lib/config/throttle-settings.ts).
 */

export interface BackoffPolicy {
  /** Failed attempts that cost no wait. */
  freeFailures: number;
  /** Wait after the first failure past the free ones; doubles with each further failure. */
  baseSeconds: number;
  /** The longest wait: the back-off never grows beyond it. */
  maxSeconds: number;
  /** Quiet time after which the failures are forgotten. */
  resetSeconds: number;
}

/** NIST SP 800-63B: no more than 100 consecutive failed attempts on one account. */
export const NIST_FAILURE_CEILING = 100;

/** Doublings past which the wait is the ceiling anyway (2^40 seconds): keeps the shift in range. */
export const MAX_SHIFT = 40;

/** The wait imposed after the n-th consecutive failure, in seconds. */
export function backoffSeconds(failures: number, policy: BackoffPolicy): number {
  if (failures <= policy.freeFailures) return 0;
  const doublings = Math.min(failures - policy.freeFailures - 1, MAX_SHIFT);
  return Math.min(policy.baseSeconds * 2 ** doublings, policy.maxSeconds);
}

/**
 * The most failed attempts an attacker who never pauses can make against one address within
 * `horizonSeconds`, starting from a clean slate: every attempt made the moment it is allowed.
 * Waits never shrink as failures grow, so the densest stretch is the one that starts fresh, and a
 * fresh start needs `resetSeconds` of quiet; with resetSeconds ≥ the horizon this bounds every
 * window of that length.
 */
export function worstCaseFailures(policy: BackoffPolicy, horizonSeconds: number): number {
  let t = 0;
  let n = 0;
  while (t < horizonSeconds) {
    n += 1;
    const wait = backoffSeconds(n, policy);
    if (wait === 0 && n > 10_000) return Infinity;
    t += wait;
  }
  return n;
}
