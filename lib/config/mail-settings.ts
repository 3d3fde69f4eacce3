/**
 * How mail leaves: MAIL_TRANSPORT and what each transport needs, MAIL_FROM, APP_NAME, the outbox's
 * retry and size, and DATA_KEY (the key that seals the outbox's bodies at rest). Which transports a
 * runtime can build is the entry's business (functions/server.ts, functions/worker.ts); this only
 * reads the strings and refuses bad ones at start.
 */
import { parseDataKey } from '../crypto/seal.ts';
import type { TransportName } from '../mail/transport.ts';
import { ConfigError, integer, type ConfigVars } from './vars.ts';

export interface MailSettings {
  transport: TransportName;
  /** `Name <address>` or a bare address. */
  from: string;
  appName: string;
  /** How long one send may take before it counts as failed (and is retried). */
  timeoutMs: number;
  /** The first retry's delay; each next one doubles, up to MAX_RETRY_DELAY_SECONDS. */
  retrySeconds: number;
  /** Rows the outbox may hold; past it new mails are left out and `mail_outbox_full` is logged. */
  outboxCapacity: number;
  /** DATA_KEY's bytes when set. */
  dataKey: Uint8Array | undefined;
  smtp: { url: string; caFile: string | undefined } | undefined;
  webhook: { url: string; secret: string } | undefined;
}

const TRANSPORTS: readonly TransportName[] = ['log', 'smtp', 'webhook', 'cloudflare'];
export const MAX_RETRY_DELAY_SECONDS = 3600;
const DEFAULT_MAIL_TIMEOUT_MS = 10_000;
const DEFAULT_RETRY_SECONDS = 10;
const DEFAULT_OUTBOX_CAPACITY = 10_000;
/** A webhook secret shorter than this is guessable offline from one signed request. */
const MIN_WEBHOOK_SECRET_LENGTH = 32;

/** The address in `Name <address>` or a bare `address`; null when it is neither. */
export function mailFromAddress(raw: string): string | null {
  if (/[\r\n]/.test(raw)) return null;
  const named = /^\s*([^<>]*?)\s*<([^<>\s]+)>\s*$/.exec(raw);
  const address = named ? named[2]! : raw.trim();
  return /^[^\s@<>"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$|^[^\s@<>"]+@localhost$/.test(address) ? address : null;
}

function required(vars: ConfigVars, name: string, transport: string): string {
  const value = vars[name]?.trim();
  if (!value) throw new ConfigError(`${name} must be set when MAIL_TRANSPORT is ${transport}`);
  return value;
}

function httpUrl(name: string, raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ConfigError(`${name} must use http or https`);
  return url.href;
}

function smtpUrl(raw: string): string {
  // Never echo the value: it carries the SMTP password.
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('SMTP_URL must look like smtp://user:password@host:587 or smtps://user:password@host:465');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') throw new ConfigError('SMTP_URL must start with smtp:// or smtps://');
  if (!url.hostname) throw new ConfigError('SMTP_URL must name a host');
  return raw;
}

export function mailSettings(vars: ConfigVars, publicUrl: string): MailSettings {
  const transport = (vars.MAIL_TRANSPORT?.trim() || 'log') as TransportName;
  if (!TRANSPORTS.includes(transport)) throw new ConfigError(`MAIL_TRANSPORT must be one of ${TRANSPORTS.join(', ')}, got "${vars.MAIL_TRANSPORT}"`);
  const fromRaw = vars.MAIL_FROM?.trim() || (transport === 'log' ? `no-reply@${new URL(publicUrl).hostname}` : required(vars, 'MAIL_FROM', transport));
  if (!mailFromAddress(fromRaw)) throw new ConfigError(`MAIL_FROM must be "Name <address@domain>" or "address@domain", got "${fromRaw}"`);
  const dataKeyText = vars.DATA_KEY?.trim();
  const dataKey = dataKeyText ? parseDataKey(dataKeyText) : undefined;
  if (dataKey === null) throw new ConfigError('DATA_KEY must be 32 random bytes as base64, base64url or 64 hex digits (openssl rand -base64 32)');
  const webhookSecret = transport === 'webhook' ? required(vars, 'MAIL_WEBHOOK_SECRET', transport) : undefined;
  if (webhookSecret !== undefined && webhookSecret.length < MIN_WEBHOOK_SECRET_LENGTH) {
    throw new ConfigError(`MAIL_WEBHOOK_SECRET must be at least ${MIN_WEBHOOK_SECRET_LENGTH} characters (openssl rand -hex 32)`);
  }
  return {
    transport,
    from: fromRaw,
    appName: vars.APP_NAME?.trim() || 'Latchkey',
    timeoutMs: integer(vars, 'MAIL_TIMEOUT_MS', DEFAULT_MAIL_TIMEOUT_MS, 1, 60_000),
    retrySeconds: integer(vars, 'MAIL_RETRY_SECONDS', DEFAULT_RETRY_SECONDS, 1, MAX_RETRY_DELAY_SECONDS),
    outboxCapacity: integer(vars, 'MAIL_OUTBOX_MAX', DEFAULT_OUTBOX_CAPACITY, 1, 10_000_000),
    dataKey,
    smtp: transport === 'smtp' ? { url: smtpUrl(required(vars, 'SMTP_URL', transport)), caFile: vars.SMTP_CA_FILE?.trim() || undefined } : undefined,
    webhook: webhookSecret !== undefined ? { url: httpUrl('MAIL_WEBHOOK_URL', required(vars, 'MAIL_WEBHOOK_URL', transport)), secret: webhookSecret } : undefined,
  };
}
