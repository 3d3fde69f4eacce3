/**
 * Configuration from plain string variables: process.env on Node, [vars] and secrets on Workers.
 * Bad values stop the service at start with a message naming the variable, rather than
 * surfacing later as failed requests.
 */
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from '../policy/password-policy.ts';
import { DEFAULT_SCRYPT, scryptParamsProblem, type ScryptParams } from '../crypto/passwords.ts';
import { parseAddressRanges, type AddressRange } from '../policy/ip-addresses.ts';
import { DEFAULT_DEVICES, type DevicePolicy } from './device-settings.ts';
import { mailSettings, type MailSettings } from './mail-settings.ts';
import { sessionPolicy, type SessionPolicy } from './session-settings.ts';
import { ConfigError, integer, type ConfigVars } from './vars.ts';
import { throttlePolicy, type ThrottlePolicy, type WindowLimit } from './throttle-settings.ts';
import { modeOf, type Mode } from './mode.ts';
import { breachedPasswordSettings, turnstileSettings } from './bot-and-breach-settings.ts';
import type { BreachedPasswordSettings } from '../policy/breached-passwords.ts';
import type { TurnstileSettings } from '../policy/turnstile.ts';

export interface Config {
  /** Origin (and optional path prefix) that activation links are built from. Never from request headers. */
  publicUrl: string;
  /** 'development' when PUBLIC_URL's host is loopback (see modeOf); it changes defaults only. */
  mode: Mode;
  /** How long an activation link stays valid. */
  tokenTtlSeconds: number;
  /** How long a password reset link stays valid (RESET_TOKEN_TTL_SECONDS). */
  resetTokenTtlSeconds: number;
  /** How long the link that confirms a new address stays valid (EMAIL_CHANGE_TTL_SECONDS). */
  emailChangeTtlSeconds: number;
  /** How long the old address can undo a change of address (EMAIL_UNDO_TTL_SECONDS); it stays reserved meanwhile. */
  emailUndoTtlSeconds: number;
  passwordPolicy: PasswordPolicy;
  scrypt: ScryptParams;
  /** Password hashes run at once (HASH_MAX_IN_FLIGHT); unset: the runtime's own default. */
  hashMaxInFlight: number | undefined;
  /** Requests that may wait for a hash (HASH_MAX_QUEUED); the next is refused with 503. */
  hashMaxQueued: number;
  /** How mail leaves: the transport, the sender, the outbox (lib/config/mail-settings.ts). */
  mail: MailSettings;
  throttle: ThrottlePolicy;
  /** Device tokens from earlier logins, which skip the address's back-off (lib/storage/devices.ts). */
  devices: DevicePolicy;
  /** Session expiries, enforced on every read (lib/flows/sessions.ts). */
  sessions: SessionPolicy;
  /** Proxies whose X-Forwarded-For is believed (Node only; Workers use CF-Connecting-IP). */
  trustedProxies: AddressRange[];
  /** Origins that browsers may call the API from; empty = CORS off. */
  corsOrigins: string[];
  /** How long expired or used registrations and reset links, and ended sessions, are kept before purging. */
  purgeGraceSeconds: number;
  /** How often the Node server purges (the Workers cron schedule is in wrangler.toml). */
  purgeIntervalSeconds: number;
  /** Passwords known from breaches, asked of the range API when one is chosen (lib/policy/breached-passwords.ts). */
  breachedPasswords: BreachedPasswordSettings;
  /** The bot check on register, login, forgot and resend; undefined: off (lib/policy/turnstile.ts). */
  turnstile: TurnstileSettings | undefined;
}

export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** Short, as OWASP and the Copenhagen Book ask; NIST SP 800-63B-4 allows a mailed secret 24 h at most. */
const DEFAULT_RESET_TOKEN_TTL_SECONDS = 60 * 60;
/** A mailed secret, like a reset link: short (lib/flows/change-email.ts). */
const DEFAULT_EMAIL_CHANGE_TTL_SECONDS = 60 * 60;
/** Long enough for the owner of the old address to read a week's mail and notice. */
const DEFAULT_EMAIL_UNDO_TTL_SECONDS = 7 * 24 * 60 * 60;
/** At the default scrypt cost this is several seconds of waiting on a small machine: enough. */
export const DEFAULT_HASH_MAX_QUEUED = 64;

function publicUrl(raw: string | undefined): string {
  if (!raw) throw new ConfigError('PUBLIC_URL must be set: activation links are built from it');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`PUBLIC_URL must be an absolute URL, got "${raw}"`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`PUBLIC_URL must use http or https, got "${raw}"`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new ConfigError(`PUBLIC_URL must have no query, fragment or credentials, got "${raw}"`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

export const DEFAULT_PURGE_GRACE_SECONDS = 7 * 24 * 60 * 60;
const DEFAULT_PURGE_INTERVAL_SECONDS = 60 * 60;

function corsOrigins(raw: string | undefined): string[] {
  if (!raw || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const text = entry.trim();
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new ConfigError(`CORS_ORIGINS entries must be origins like https://app.example.com, got "${text}"`);
    }
    if (url.origin === 'null' || url.origin !== text.replace(/\/$/, '')) {
      throw new ConfigError(`CORS_ORIGINS entries must be bare origins (scheme://host[:port]), got "${text}"`);
    }
    return url.origin;
  });
}

function trustedProxies(raw: string | undefined): AddressRange[] {
  try {
    return parseAddressRanges(raw);
  } catch (error) {
    throw new ConfigError(`TRUSTED_PROXIES: ${(error as Error).message}`);
  }
}

export function loadConfig(vars: ConfigVars): Config {
  const passwordMin = integer(vars, 'PASSWORD_MIN_LENGTH', DEFAULT_PASSWORD_POLICY.minLength, 8, 64);
  const passwordMax = integer(vars, 'PASSWORD_MAX_LENGTH', DEFAULT_PASSWORD_POLICY.maxLength, 64, 1024);
  const scrypt: ScryptParams = {
    logN: integer(vars, 'SCRYPT_LOG_N', DEFAULT_SCRYPT.logN, 1, 20),
    r: integer(vars, 'SCRYPT_R', DEFAULT_SCRYPT.r, 1, 64),
    p: integer(vars, 'SCRYPT_P', DEFAULT_SCRYPT.p, 1, 64),
  };
  const scryptProblem = scryptParamsProblem(scrypt);
  if (scryptProblem) throw new ConfigError(`SCRYPT_LOG_N/SCRYPT_R/SCRYPT_P: ${scryptProblem}`);
  const url = publicUrl(vars.PUBLIC_URL);
  const mode = modeOf(url);
  return {
    publicUrl: url,
    mode,
    tokenTtlSeconds: integer(vars, 'TOKEN_TTL_SECONDS', DEFAULT_TOKEN_TTL_SECONDS, 60, 30 * 24 * 60 * 60),
    resetTokenTtlSeconds: integer(vars, 'RESET_TOKEN_TTL_SECONDS', DEFAULT_RESET_TOKEN_TTL_SECONDS, 60, 24 * 60 * 60),
    emailChangeTtlSeconds: integer(vars, 'EMAIL_CHANGE_TTL_SECONDS', DEFAULT_EMAIL_CHANGE_TTL_SECONDS, 60, 24 * 60 * 60),
    emailUndoTtlSeconds: integer(vars, 'EMAIL_UNDO_TTL_SECONDS', DEFAULT_EMAIL_UNDO_TTL_SECONDS, 3600, 30 * 24 * 60 * 60),
    passwordPolicy: { minLength: passwordMin, maxLength: passwordMax },
    scrypt,
    hashMaxInFlight: vars.HASH_MAX_IN_FLIGHT?.trim() ? integer(vars, 'HASH_MAX_IN_FLIGHT', 1, 1, 256) : undefined,
    hashMaxQueued: integer(vars, 'HASH_MAX_QUEUED', DEFAULT_HASH_MAX_QUEUED, 0, 100_000),
    mail: mailSettings(vars, url),
    throttle: throttlePolicy(vars, mode),
    devices: {
      ttlSeconds: integer(vars, 'DEVICE_TOKEN_TTL_SECONDS', DEFAULT_DEVICES.ttlSeconds, 3600, 400 * 86_400),
      maxFailures: integer(vars, 'DEVICE_MAX_FAILURES', DEFAULT_DEVICES.maxFailures, 1, 20),
    },
    sessions: sessionPolicy(vars),
    trustedProxies: trustedProxies(vars.TRUSTED_PROXIES),
    corsOrigins: corsOrigins(vars.CORS_ORIGINS),
    purgeGraceSeconds: integer(vars, 'PURGE_GRACE_SECONDS', DEFAULT_PURGE_GRACE_SECONDS, 0, 365 * 86_400),
    purgeIntervalSeconds: integer(vars, 'PURGE_INTERVAL_SECONDS', DEFAULT_PURGE_INTERVAL_SECONDS, 60, 7 * 86_400),
    breachedPasswords: breachedPasswordSettings(vars, mode),
    turnstile: turnstileSettings(vars),
  };
}

const allowance = (rule: WindowLimit) => (rule.limit === 0 ? 'off' : `${rule.limit}/${rule.windowSeconds}s`);

/** What the start-up line says next to the mode: why it is that mode, and the allowances it set. */
export function describeMode(config: Config): string {
  const { perClient, mailPerAddressClient, mailPerAddress, loginFailures } = config.throttle;
  const clients = (Object.keys(perClient) as Array<keyof typeof perClient>).map((e) => `${e} ${allowance(perClient[e])}`).join(', ');
  const addresses =
    `mail ${allowance(mailPerAddressClient)} per client, ${allowance(mailPerAddress)} in all, ` +
    `login back-off after ${loginFailures.freeFailures} failures`;
  if (config.mode === 'production') return `PUBLIC_URL is not this machine. Per-client allowances: ${clients}. Per-address: ${addresses}.`;
  return (
    `PUBLIC_URL points at this machine, so per-client allowances default to off ` +
    `(now: ${clients}; a LIMIT_*_PER_CLIENT setting still applies); per-address ones stay on (${addresses}).`
  );
}

/**
 * The start-up line's warning when a public PUBLIC_URL mails through the log transport: every link,
 * a credential, then goes to the log store instead of to a person.
 */
export function mailWarning(config: Config): { mailWarning?: string } {
  if (config.mode !== 'production' || config.mail.transport !== 'log') return {};
  return { mailWarning: 'MAIL_TRANSPORT is log: mails, with their links, go to this log and to nobody\'s mailbox. Set MAIL_TRANSPORT (README, "Mail").' };
}

export { ConfigError, type ConfigVars } from './vars.ts';
export { modeOf, type Mode } from './mode.ts';
export { DEFAULT_THROTTLE } from './throttle-settings.ts';
