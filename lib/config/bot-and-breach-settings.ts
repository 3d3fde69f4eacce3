/**
 * BREACHED_PASSWORDS* (lib/policy/breached-passwords.ts) and TURNSTILE_* (lib/policy/turnstile.ts):
 * the two checks that ask a service outside Latchkey.
 */
import {
  DEFAULT_BREACHED_PASSWORDS_TIMEOUT_MS,
  DEFAULT_BREACHED_PASSWORDS_URL,
  type BreachedPasswordSettings,
} from '../policy/breached-passwords.ts';
import { DEFAULT_TURNSTILE_TIMEOUT_MS, DEFAULT_TURNSTILE_VERIFY_URL, type TurnstileSettings } from '../policy/turnstile.ts';
import type { Mode } from './mode.ts';
import { ConfigError, integer, type ConfigVars } from './vars.ts';

function oneOf<T extends string>(vars: ConfigVars, name: string, allowed: readonly T[], fallback: T): T {
  const raw = vars[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(`${name} must be ${allowed.join(' or ')}, got "${vars[name]}"`);
  return raw as T;
}

function httpUrl(vars: ConfigVars, name: string, fallback: string): string {
  const raw = vars[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http or https URL, got "${raw}"`);
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`${name} must be an http or https URL without query, fragment or credentials, got "${raw}"`);
  }
  return url.href;
}

/**
 * On by default in production, where NIST asks for it; off in development mode, where a laptop or
 * a test suite may be offline and would otherwise wait out the timeout on every chosen password.
 */
export function breachedPasswordSettings(vars: ConfigVars, mode: Mode): BreachedPasswordSettings {
  const check = oneOf(vars, 'BREACHED_PASSWORDS', ['pwned', 'off'], mode === 'production' ? 'pwned' : 'off');
  const url = httpUrl(vars, 'BREACHED_PASSWORDS_URL', DEFAULT_BREACHED_PASSWORDS_URL);
  // The prefix is appended as the last path segment.
  if (!url.endsWith('/')) throw new ConfigError(`BREACHED_PASSWORDS_URL must end with "/" (the prefix is appended), got "${vars.BREACHED_PASSWORDS_URL}"`);
  const timeoutMs = integer(vars, 'BREACHED_PASSWORDS_TIMEOUT_MS', DEFAULT_BREACHED_PASSWORDS_TIMEOUT_MS, 100, 10_000);
  return { check, url, timeoutMs };
}

/** Off (undefined) unless both keys are set; one without the other is a mistake, refused at start. */
export function turnstileSettings(vars: ConfigVars): TurnstileSettings | undefined {
  const siteKey = vars.TURNSTILE_SITE_KEY?.trim() ?? '';
  const secretKey = vars.TURNSTILE_SECRET_KEY?.trim() ?? '';
  const verifyUrl = httpUrl(vars, 'TURNSTILE_VERIFY_URL', DEFAULT_TURNSTILE_VERIFY_URL);
  const timeoutMs = integer(vars, 'TURNSTILE_TIMEOUT_MS', DEFAULT_TURNSTILE_TIMEOUT_MS, 100, 30_000);
  const onOutage = oneOf(vars, 'TURNSTILE_ON_OUTAGE', ['closed', 'open'], 'closed');
  if (siteKey === '' && secretKey === '') return undefined;
  if (siteKey === '' || secretKey === '') {
    throw new ConfigError('TURNSTILE_SITE_KEY and TURNSTILE_SECRET_KEY must be set together (or neither, for no bot check)');
  }
  // The key is written into pages' HTML attributes and a CSP-bound script: keep it to its real alphabet.
  if (!/^[0-9A-Za-z_-]{1,100}$/.test(siteKey)) throw new ConfigError(`TURNSTILE_SITE_KEY must be letters, digits, "-" and "_", got "${siteKey}"`);
  return { siteKey, secretKey, verifyUrl, timeoutMs, onOutage };
}
