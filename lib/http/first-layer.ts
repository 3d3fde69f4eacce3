/**
 * A coarse first layer on Workers: when a Rate Limiting binding named RATE_LIMITER is declared,
 * each client address's POSTs are counted there (per Cloudflare location, approximately, in a 10 or
 * 60 second window, with no storage) and a client over it gets 429 before the request reaches the
 * app, so before any D1 trip. It adds to the database's exact, long-memory counters and replaces
 * none of them (docs/security.md, "Database counters against Cloudflare's rate-limiting binding").
 *
 * Only POSTs: they are what costs a hash, a mail or a write. GET /session is what other services
 * call to check a session, from few addresses and often; it stays outside.
 */
import { clientLimitKey } from './client-address.ts';
import { details, problemResponse } from './problems.ts';

/** The binding's shape (Cloudflare's RateLimit), as much of it as is used here. */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** The binding's longest window: a client over it may come back after this at the latest. */
const RETRY_AFTER_SECONDS = 60;

/**
 * The refusal for a client over the binding's limit, or undefined to go on. `client` is the address
 * the app would use (CF-Connecting-IP); an IPv6 client is counted by its /64, as the app counts it.
 */
export async function firstLayerRefusal(limiter: RateLimitBinding | undefined, request: Request, client: string): Promise<Response | undefined> {
  if (limiter === undefined || request.method !== 'POST') return undefined;
  const { success } = await limiter.limit({ key: clientLimitKey(client) });
  if (success) return undefined;
  const problem = details('too-many-requests', 'Too many requests', `Wait ${RETRY_AFTER_SECONDS} seconds before trying again.`, { retryAfter: RETRY_AFTER_SECONDS });
  return problemResponse({ ...problem, status: 429 }, { 'Retry-After': String(RETRY_AFTER_SECONDS) });
}
