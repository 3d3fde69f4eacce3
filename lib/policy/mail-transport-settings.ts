/**
 * What makes a mail transport's settings usable, shared by config parsing (which refuses them at
 * start, naming the setting) and by the transports themselves: the SMTP_URL forms, the webhook's
 * URL and secret, and which hosts may be reached without TLS. No node: imports: the webhook
 * transport and config run in the Worker too. Nothing here echoes a value: SMTP_URL holds a
 * password, and a webhook URL may hold a token.
 */

/** What MAIL_TRANSPORT may name. */
export type TransportName = 'log' | 'smtp' | 'webhook' | 'cloudflare';

/**
 * Whether a host is this machine (127.0.0.0/8, ::1, localhost): traffic to it never crosses a
 * network, so the SMTP and webhook transports let it go without TLS.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface SmtpTarget {
  host: string;
  port: number;
  /** smtps: TLS from the first byte. */
  implicitTls: boolean;
  /** smtp: the server must offer STARTTLS and the upgrade must succeed before anything else is sent. */
  requireStartTls: boolean;
  user?: string;
  pass?: string;
}


type Parsed = { target: SmtpTarget; problem?: undefined } | { target?: undefined; problem: string };

function parse(value: string): Parsed {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    // Not echoed: a malformed URL may still hold the password.
    return { problem: 'SMTP_URL is not a URL: expected smtp://user:password@host:587 or smtps://user:password@host:465' };
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    return { problem: `SMTP_URL must start with smtp:// (STARTTLS) or smtps:// (TLS), not ${url.protocol}//` };
  }
  if (!url.hostname) return { problem: 'SMTP_URL has no host' };
  if (url.pathname !== '' && url.pathname !== '/') return { problem: 'SMTP_URL must not have a path' };
  if (url.hash) return { problem: 'SMTP_URL must not have a #fragment' };
  const query = [...url.searchParams];
  const forceTls = query.length === 1 && query[0]![0] === 'tls' && query[0]![1] === 'required';
  if (query.length > 0 && !forceTls) return { problem: 'SMTP_URL takes no query but ?tls=required' };
  if (forceTls && url.protocol === 'smtps:') return { problem: 'SMTP_URL: ?tls=required is for smtp://; smtps:// is always TLS' };
  let user: string | undefined;
  let pass: string | undefined;
  try {
    user = url.username ? decodeURIComponent(url.username) : undefined;
    pass = url.password ? decodeURIComponent(url.password) : undefined;
  } catch {
    return { problem: "SMTP_URL's user name or password has a malformed %-escape (encode @ as %40, : as %3A, / as %2F)" };
  }
  if (pass !== undefined && user === undefined) return { problem: 'SMTP_URL has a password but no user name' };
  if (user !== undefined && pass === undefined) return { problem: 'SMTP_URL has a user name but no password (smtp://user:password@host)' };
  const implicitTls = url.protocol === 'smtps:';
  return {
    target: {
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port ? Number(url.port) : implicitTls ? 465 : 587,
      implicitTls,
      requireStartTls: !implicitTls && (forceTls || !isLoopbackHost(url.hostname)),
      user,
      pass,
    },
  };
}

/** For config parsing: a message naming SMTP_URL (never its password) when `value` is unusable. */
export function smtpUrlProblem(value: string): string | undefined {
  return parse(value).problem;
}

export function parseSmtpUrl(value: string): SmtpTarget {
  const parsed = parse(value);
  if (parsed.problem !== undefined) throw new Error(parsed.problem);
  return parsed.target;
}

/**
 * For config parsing: a message naming MAIL_WEBHOOK_URL when it is unusable. https is required but
 * to this machine: the body carries activation links, which must not cross a network in the clear.
 * The value is not echoed, as its path or query may hold a token.
 */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return 'MAIL_WEBHOOK_URL is not a URL: expected https://host/path';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname) ? undefined : 'MAIL_WEBHOOK_URL must be https:// (http:// only to localhost)';
  return `MAIL_WEBHOOK_URL must be https://, not ${url.protocol}//`;
}

/** For config parsing: a message naming MAIL_WEBHOOK_SECRET when it is too short to resist guessing. */
export function webhookSecretProblem(secret: string): string | undefined {
  return secret.length >= 32 ? undefined : 'MAIL_WEBHOOK_SECRET must be at least 32 characters (openssl rand -hex 32 makes one)';
}

