/**
 * Cloudflare Turnstile's server-side check: a token from the widget, sent to siteverify with the
 * secret, the client's address and an idempotency key. The key lets one lost answer be asked
 * again without Cloudflare taking the retry for a reused token (its documented purpose).
 */

export interface TurnstileSettings {
  /** TURNSTILE_SITE_KEY: public, rendered into the pages' widget. */
  siteKey: string;
  /** TURNSTILE_SECRET_KEY: never logged, never answered. */
  secretKey: string;
  /** TURNSTILE_VERIFY_URL. */
  verifyUrl: string;
  /** TURNSTILE_TIMEOUT_MS: the whole verification, a retry included. */
  timeoutMs: number;
  /** TURNSTILE_ON_OUTAGE: what a request gets when siteverify itself cannot answer. */
  onOutage: 'closed' | 'open';
}

export const DEFAULT_TURNSTILE_VERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
export const DEFAULT_TURNSTILE_TIMEOUT_MS = 3000;
/** Cloudflare's documented limit on a token's length. */
export const MAX_TURNSTILE_TOKEN_LENGTH = 2048;

export type TurnstileVerdict =
  | { kind: 'passed' }
  /** Cloudflare looked at the token and said no: `codes` are its error-codes (never the token). */
  | { kind: 'refused'; codes: string[] }
  /** Cloudflare could not be asked: nobody knows whether the token was good. */
  | { kind: 'outage'; reason: 'unreachable' | 'timeout' | 'status' | 'garbage' };

interface SiteverifyAnswer {
  success?: unknown;
  'error-codes'?: unknown;
}

async function askOnce(settings: TurnstileSettings, body: string, signal: AbortSignal): Promise<TurnstileVerdict> {
  const response = await fetch(settings.verifyUrl, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body,
    signal,
  });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: 'outage', reason: 'status' };
  }
  let answer: SiteverifyAnswer;
  try {
    answer = (await response.json()) as SiteverifyAnswer;
  } catch {
    return { kind: 'outage', reason: 'garbage' };
  }
  if (typeof answer !== 'object' || answer === null || typeof answer.success !== 'boolean') return { kind: 'outage', reason: 'garbage' };
  if (answer.success) return { kind: 'passed' };
  const codes = Array.isArray(answer['error-codes']) ? answer['error-codes'].filter((c): c is string => typeof c === 'string') : [];
  // Cloudflare's own failure, not the token's: the secret is fine, Cloudflare is not.
  if (codes.includes('internal-error')) return { kind: 'outage', reason: 'status' };
  return { kind: 'refused', codes };
}

/**
 * Verifies a token. One retry, with the same idempotency key, when the first try could not be
 * asked or answered; the timeout bounds both together.
 */
export async function verifyTurnstile(settings: TurnstileSettings, token: string, remoteip: string | undefined): Promise<TurnstileVerdict> {
  const body = JSON.stringify({
    secret: settings.secretKey,
    response: token,
    ...(remoteip ? { remoteip } : {}),
    idempotency_key: crypto.randomUUID(),
  });
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), settings.timeoutMs);
  let last: TurnstileVerdict = { kind: 'outage', reason: 'unreachable' };
  try {
    for (let attempt = 0; attempt < 2 && !abort.signal.aborted; attempt++) {
      try {
        last = await askOnce(settings, body, abort.signal);
      } catch {
        last = { kind: 'outage', reason: abort.signal.aborted ? 'timeout' : 'unreachable' };
      }
      if (last.kind !== 'outage') return last;
    }
    return last;
  } finally {
    clearTimeout(timer);
  }
}
