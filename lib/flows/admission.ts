/**
 * The per-client window's verdict as a flow answers it. Every flow behind an allowance carries the
 * request's hit on it in its first batch (lib/storage/throttle.ts runAdmitted), so the refusal is
 * the flow's outcome like any other, and costs no round trip of its own.
 */
import type { EventLog } from '../log.ts';
import type { Verdict } from '../storage/throttle.ts';

export type { Admission } from '../storage/throttle.ts';

export interface Throttled {
  kind: 'throttled';
  retryAfterSeconds: number;
}

/** The client's window refused the request: the outcome, logged. Null when it admitted it. */
export function refusedClient(verdict: Verdict, log: EventLog): Throttled | null {
  if (verdict.ok) return null;
  log('throttled', { rule: 'client', retryAfter: verdict.retryAfterSeconds });
  return { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds };
}
