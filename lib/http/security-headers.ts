/**
 * The headers that every response carries: no caching (answers hold personal data and one-use
 * links), a Content-Security-Policy that allows nothing but the pages' own stylesheet, and the
 * usual hardening headers (the set Hono's secureHeaders() sends, with no-referrer because
 * activation links carry their token in the URL).
 *
 * A fixed list, built once: the app hands it to each response as the response is made (see
 * functions/app.ts and problemResponse), because adding headers to a finished response makes
 * @hono/node-server rebuild it as a full web Response, which cost more than the handler itself.
 */
import { PAGE_CSP } from '../pages/pages.ts';

export const RESPONSE_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Cache-Control', 'no-store'],
  ['Content-Security-Policy', PAGE_CSP],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
];

export const RESPONSE_HEADER_RECORD: Readonly<Record<string, string>> = Object.freeze(Object.fromEntries(RESPONSE_HEADERS));
