/**
 * How mail leaves: MAIL_TRANSPORT and what each transport needs, MAIL_FROM, APP_NAME, the outbox's
 * retry and size, and DATA_KEY (the key that seals the outbox's bodies at rest). Which transports a
 * runtime can build is the entry's business (functions/server.ts, functions/worker.ts); this only
 * reads the strings and refuses bad ones at start.
 */
import { parseDataKey } from '../crypto/seal.ts';
import { parseMailFrom } from '../policy/mail-from.ts';
import { smtpUrlProblem, webhookSecretProblem, webhookUrlProblem, type TransportName } from '../policy/mail-transport-settings.ts';
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

/** The log transport's sender when MAIL_FROM is unset: PUBLIC_URL's host where it makes an address. */
function logSender(publicUrl: string): string {
  const own = `no-reply@${new URL(publicUrl).hostname}`;
  return parseMailFrom(own) ? own : 'no-reply@localhost';
}

function required(vars: ConfigVars, name: string, transport: string): string {
  const value = vars[name]?.trim();
  if (!value) throw new ConfigError(`${name} must be set when MAIL_TRANSPORT is ${transport}`);
  return value;
}

/** The setting's value if `problem` finds none in it; else a refusal carrying the problem's words. */
function checked(value: string, problem: (value: string) => string | undefined): string {
  const found = problem(value);
  if (found) throw new ConfigError(found);
  return value;
}

export function mailSettings(vars: ConfigVars, publicUrl: string): MailSettings {
  const transport = (vars.MAIL_TRANSPORT?.trim() || 'log') as TransportName;
  if (!TRANSPORTS.includes(transport)) throw new ConfigError(`MAIL_TRANSPORT must be one of ${TRANSPORTS.join(', ')}, got "${vars.MAIL_TRANSPORT}"`);
  const fromRaw = vars.MAIL_FROM?.trim() || (transport === 'log' ? logSender(publicUrl) : required(vars, 'MAIL_FROM', transport));
  if (!parseMailFrom(fromRaw)) throw new ConfigError(`MAIL_FROM must be "Name <address@domain>" or "address@domain", got "${fromRaw}"`);
  const dataKeyText = vars.DATA_KEY?.trim();
  const dataKey = dataKeyText ? parseDataKey(dataKeyText) : undefined;
  if (dataKey === null) throw new ConfigError('DATA_KEY must be 32 random bytes as base64, base64url or 64 hex digits (openssl rand -base64 32)');
  const webhook =
    transport === 'webhook'
      ? {
          url: checked(required(vars, 'MAIL_WEBHOOK_URL', transport), webhookUrlProblem),
          secret: checked(required(vars, 'MAIL_WEBHOOK_SECRET', transport), webhookSecretProblem),
        }
      : undefined;
  const appName = vars.APP_NAME?.trim() || 'Latchkey';
  // It goes into every subject: a control character there would break (or forge) a header.
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(appName) || appName.length > 80) throw new ConfigError('APP_NAME must be one line of at most 80 characters');
  return {
    transport,
    from: fromRaw,
    appName,
    timeoutMs: integer(vars, 'MAIL_TIMEOUT_MS', DEFAULT_MAIL_TIMEOUT_MS, 1, 60_000),
    retrySeconds: integer(vars, 'MAIL_RETRY_SECONDS', DEFAULT_RETRY_SECONDS, 1, MAX_RETRY_DELAY_SECONDS),
    outboxCapacity: integer(vars, 'MAIL_OUTBOX_MAX', DEFAULT_OUTBOX_CAPACITY, 1, 10_000_000),
    dataKey,
    smtp: transport === 'smtp' ? { url: checked(required(vars, 'SMTP_URL', transport), smtpUrlProblem), caFile: vars.SMTP_CA_FILE?.trim() || undefined } : undefined,
    webhook,
  };
}
