/**
 * Passwords known from breaches, asked of Have I Been Pwned's range API with k-anonymity: only the
 * first 5 hex digits of the password's SHA-1 leave this process, the answer lists every suffix of
 * that prefix (padded with fake ones, count 0, so that its size says nothing either), and the
 * suffix is compared here. NIST SP 800-63B-4 asks a verifier to refuse compromised passwords.
 *
 * It never blocks a person: a range server that is unreachable, slow or answers garbage leaves the
 * password to the offline rules alone (`unchecked`), and the flow logs why. Ranges are kept per
 * prefix for a while, in bounded memory, and lookups of one prefix at once share one request, so a
 * burst of registrations is not a burst of lookups.
 */
import { normalizePassword } from '../crypto/passwords.ts';

export interface BreachedPasswordSettings {
  /** BREACHED_PASSWORDS: `pwned` asks the range API, `off` does not. */
  check: 'pwned' | 'off';
  /** BREACHED_PASSWORDS_URL: the prefix is appended to it. */
  url: string;
  /** BREACHED_PASSWORDS_TIMEOUT_MS: the whole lookup, headers and body. */
  timeoutMs: number;
}

export const DEFAULT_BREACHED_PASSWORDS_URL = 'https://api.pwnedpasswords.com/range/';
export const DEFAULT_BREACHED_PASSWORDS_TIMEOUT_MS = 1500;

/**
 * A range keeps only its real suffixes (about 1,000 lines of 35 hex digits, some 40 KB as one
 * string), so 256 prefixes are about 10 MB at most: a bounded share of a Worker's 128 MB. Ten
 * minutes: the data changes when HIBP loads a breach, weeks apart; a burst is over long before.
 */
export const RANGE_CACHE_ENTRIES = 256;
export const RANGE_CACHE_MS = 10 * 60 * 1000;

export type UncheckedReason = 'off' | 'unreachable' | 'timeout' | 'status' | 'garbage';

export type BreachVerdict = { kind: 'breached'; count: number } | { kind: 'not-found' } | { kind: 'unchecked'; reason: UncheckedReason };

export type BreachCheck = (password: string) => Promise<BreachVerdict>;

type Range = { ok: true; suffixes: string } | { ok: false; reason: UncheckedReason };

const LINE = /^([0-9A-F]{35}):(\d+)$/;

/** The SHA-1 of the NFC-normalised password (the form it is hashed in), as 40 upper-case hex digits. */
export async function passwordSha1(password: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-1', new TextEncoder().encode(normalizePassword(password)));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('').toUpperCase();
}

/**
 * The suffixes a range answer lists with a count above 0, as "\nSUFFIX:COUNT" lines in one string;
 * null when any line is not a suffix and a count (an error page, a proxy's answer, a cut-off body).
 */
export function parseRange(text: string): string | null {
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  if (lines.length === 0) return null;
  let kept = '';
  for (const line of lines) {
    const match = LINE.exec(line.trim());
    if (!match) return null;
    // Padding lines (Add-Padding: true) carry count 0: fake suffixes, never a breach.
    if (Number(match[2]) > 0) kept += `\n${match[1]}:${Number(match[2])}`;
  }
  return kept;
}

function countIn(suffixes: string, suffix: string): number {
  const at = suffixes.indexOf(`\n${suffix}:`);
  if (at === -1) return 0;
  const start = at + suffix.length + 2;
  const end = suffixes.indexOf('\n', start);
  return Number(suffixes.slice(start, end === -1 ? undefined : end));
}

async function fetchRange(settings: BreachedPasswordSettings, prefix: string): Promise<Range> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), settings.timeoutMs);
  try {
    const response = await fetch(`${settings.url}${prefix}`, { headers: { 'Add-Padding': 'true' }, signal: abort.signal });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: 'status' };
    }
    const suffixes = parseRange(await response.text());
    return suffixes === null ? { ok: false, reason: 'garbage' } : { ok: true, suffixes };
  } catch {
    return { ok: false, reason: abort.signal.aborted ? 'timeout' : 'unreachable' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The check for these settings. `now` is the clock of the cache only (milliseconds); failures are
 * not cached, so the next chooser is checked as soon as the range server answers again.
 */
export function breachCheck(settings: BreachedPasswordSettings, now: () => number = Date.now): BreachCheck {
  if (settings.check === 'off') return async () => ({ kind: 'unchecked', reason: 'off' });
  const cache = new Map<string, { until: number; suffixes: string }>();
  const inFlight = new Map<string, Promise<Range>>();

  async function range(prefix: string): Promise<Range> {
    const cached = cache.get(prefix);
    if (cached && cached.until > now()) return { ok: true, suffixes: cached.suffixes };
    cache.delete(prefix);
    const pending = inFlight.get(prefix);
    if (pending) return pending;
    const lookup = fetchRange(settings, prefix).then((answer) => {
      inFlight.delete(prefix);
      if (answer.ok) {
        // A Map iterates in insertion order: the first key is the oldest entry.
        while (cache.size >= RANGE_CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
        cache.set(prefix, { until: now() + RANGE_CACHE_MS, suffixes: answer.suffixes });
      }
      return answer;
    });
    inFlight.set(prefix, lookup);
    return lookup;
  }

  return async function isBreached(password) {
    const sha1 = await passwordSha1(password);
    const answer = await range(sha1.slice(0, 5));
    if (!answer.ok) return { kind: 'unchecked', reason: answer.reason };
    const count = countIn(answer.suffixes, sha1.slice(5));
    return count > 0 ? { kind: 'breached', count } : { kind: 'not-found' };
  };
}
