/**
 * Configuration from plain string variables: process.env on Node, [vars] and secrets on Workers.
 * Bad values stop the service at start with a message naming the variable, rather than
 * surfacing later as failed requests.
 */
import { DEFAULT_PASSWORD_POLICY, type PasswordPolicy } from './password-policy.ts';
import { DEFAULT_SCRYPT, scryptParamsProblem, type ScryptParams } from './passwords.ts';

export interface Config {
  /** Origin (and optional path prefix) that activation links are built from. Never from request headers. */
  publicUrl: string;
  /** How long an activation link stays valid. */
  tokenTtlSeconds: number;
  passwordPolicy: PasswordPolicy;
  scrypt: ScryptParams;
  /** Password hashes run at once (HASH_MAX_IN_FLIGHT); unset: the runtime's own default. */
  hashMaxInFlight: number | undefined;
  /** Requests that may wait for a hash (HASH_MAX_QUEUED); the next is refused with 503. */
  hashMaxQueued: number;
  /** How long a mail sink may take before the mail is given up on (logged as mail_failed). */
  mailTimeoutMs: number;
}

export type ConfigVars = Record<string, string | undefined>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;
/** At the default scrypt cost this is several seconds of waiting on a small machine: enough. */
export const DEFAULT_HASH_MAX_QUEUED = 64;
export const DEFAULT_MAIL_TIMEOUT_MS = 10_000;

function integer(vars: ConfigVars, name: string, fallback: number, min: number, max: number): number {
  const raw = vars[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

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
  return {
    publicUrl: publicUrl(vars.PUBLIC_URL),
    tokenTtlSeconds: integer(vars, 'TOKEN_TTL_SECONDS', DEFAULT_TOKEN_TTL_SECONDS, 60, 30 * 24 * 60 * 60),
    passwordPolicy: { minLength: passwordMin, maxLength: passwordMax },
    scrypt,
    hashMaxInFlight: vars.HASH_MAX_IN_FLIGHT?.trim() ? integer(vars, 'HASH_MAX_IN_FLIGHT', 1, 1, 256) : undefined,
    hashMaxQueued: integer(vars, 'HASH_MAX_QUEUED', DEFAULT_HASH_MAX_QUEUED, 0, 100_000),
    mailTimeoutMs: integer(vars, 'MAIL_TIMEOUT_MS', DEFAULT_MAIL_TIMEOUT_MS, 1, 60_000),
  };
}

export function activationLink(config: Config, token: string): string {
  return `${config.publicUrl}/activate?token=${token}`;
}
