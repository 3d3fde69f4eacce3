/**
 * What the tests' range and siteverify servers (tests/support/third-party-peers.global.ts) know,
 * shared with the tests that ask them. Every password here passes the offline policy, so that only
 * the range can refuse it.
 */
export const BREACHED_PASSWORD = 'breached but long enough 1';
export const BREACH_COUNT = 42_917;
/** Its suffix is in its range only as a padding line (count 0): never a breach. */
export const PADDED_PASSWORD = 'only in the padding lines 2';
/** The secret the siteverify server accepts; any other gets `invalid-input-secret`. */
export const TURNSTILE_TEST_SECRET = '0x4AAAAAAAtest-secret-key';
export const TURNSTILE_TEST_SITE_KEY = '0x4AAAAAAAtest-site-key';
/** Tokens the siteverify server passes (once) start with this; `fail-…` is refused. */
export const PASSING = 'pass-';

export interface RangeRequest {
  path: string;
  addPadding: string | null;
  closedByClient?: boolean;
}

export interface SiteverifyRequest {
  contentType: string | null;
  secret?: string;
  response?: string;
  remoteip?: string;
  idempotency_key?: string;
}

declare module 'vitest' {
  interface ProvidedContext {
    /** GET {rangeServerUrl}/range/<mode>/<key>/<prefix>; modes ok, slow, garbage, status. */
    rangeServerUrl: string;
    /** A port nothing listens on. */
    deadServerUrl: string;
    /** POST {siteverifyUrl}/<mode>/<key>; modes ok, slow, flaky, garbage. */
    siteverifyUrl: string;
  }
}
