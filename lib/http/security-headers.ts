/**
 * The headers that every response carries: no caching (answers hold personal data and one-use
 * links), a Content-Security-Policy that allows nothing but the pages' own stylesheet, and the
 * usual hardening headers (the set Hono's secureHeaders() sends, with no-referrer because
 * activation links carry their token in the URL).
 *
 * A fixed list, built once, that each response is made with (`responseWith`): as one plain record,
 * which @hono/node-server writes to the socket as it is. Setting them one by one through Hono's
 * c.header() builds and validates a web Headers object on every request, and adding them to a
 * finished response makes @hono/node-server rebuild it as a full web Response; either cost more
 * than a cheap handler itself (docs/performance.md, "Headers in one record").
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

// The responses made with every header above; any other (Hono's own, a route that answers with
// c.json) gets the ones it lacks from withResponseHeaders(), the slower way.
const MADE_WITH_HEADERS = new WeakSet<Response>();

// The full record for each Content-Type alone, the usual case, made once: neither
// @hono/node-server nor Node changes a record it is given (each copies it first, if at all).
const WITH_TYPE = new Map<string, Readonly<Record<string, string>>>();

function merged(headers: Record<string, string>): Readonly<Record<string, string>> {
  let only: string | undefined;
  for (const name in headers) {
    if (only !== undefined || name !== 'Content-Type') return { ...RESPONSE_HEADER_RECORD, ...headers };
    only = headers[name];
  }
  if (only === undefined) return RESPONSE_HEADER_RECORD;
  let record = WITH_TYPE.get(only);
  if (record === undefined) {
    record = Object.freeze({ ...RESPONSE_HEADER_RECORD, 'Content-Type': only });
    // Content-Types are a handful of constants; a bound in case one ever carries a variable part.
    if (WITH_TYPE.size < 16) WITH_TYPE.set(only, record);
  }
  return record;
}

/** A response that carries RESPONSE_HEADERS, then `headers` (which may override them). */
export function responseWith(body: string | null, status: number, headers: Record<string, string>): Response {
  const res = new Response(body, { status, headers: merged(headers) });
  MADE_WITH_HEADERS.add(res);
  return res;
}

/** Adds the RESPONSE_HEADERS that `res` lacks, unless it was made by responseWith(). */
export function withResponseHeaders(res: Response): void {
  if (MADE_WITH_HEADERS.has(res)) return;
  for (const [name, value] of RESPONSE_HEADERS) if (!res.headers.has(name)) res.headers.set(name, value);
}
