/**
 * The Cloudflare Email Service transport (Workers): hands each mail to a `send_email` binding
 * (`[[send_email]] name = "EMAIL"` in wrangler.toml) in its structured form,
 * `send({ from, to, subject, text, html, headers })`, which workerd and miniflare both take.
 *
 * Message-ID is not passed: the service sets it and refuses the header (E_HEADER_NOT_ALLOWED);
 * Auto-Submitted is on its allowlist. Errors name the service's code, not its message, which
 * quotes the recipient's address.
 */
import { MailRefusedError, MailTransportError, type MailTransport } from '../transport.ts';

export interface EmailAddress {
  email: string;
  name: string;
}

/** The part of the binding this transport uses (workers-types' SendEmail has more overloads). */
export interface SendEmailBinding {
  send(message: {
    from: string | EmailAddress;
    to: string;
    subject: string;
    text: string;
    html: string;
    headers?: Record<string, string>;
  }): Promise<unknown>;
}

/** Headers the service sets itself or takes only as fields; sending them fails the whole mail. */
const NOT_PASSED = new Set(['message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding', 'from', 'to', 'cc', 'bcc', 'subject', 'reply-to']);

/** Codes that say this mail will never go, however often it is tried (docs: Workers API, error codes). */
const REFUSED_CODES = new Set([
  'E_VALIDATION_ERROR',
  'E_FIELD_MISSING',
  'E_TOO_MANY_RECIPIENTS',
  'E_RECIPIENT_NOT_ALLOWED',
  'E_RECIPIENT_SUPPRESSED',
  'E_CONTENT_TOO_LARGE',
  'E_HEADER_NOT_ALLOWED',
  'E_HEADER_USE_API_FIELD',
  'E_HEADER_VALUE_INVALID',
  'E_HEADER_VALUE_TOO_LONG',
  'E_HEADER_NAME_INVALID',
  'E_HEADERS_TOO_LARGE',
  'E_HEADERS_TOO_MANY',
]);

/** `Name <address>` as the service's `{ email, name }`; a bare address as is. */
export function senderOf(from: string): string | EmailAddress {
  const match = /^\s*(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(from);
  if (!match) return from.trim();
  const name = match[1]!.replace(/^"(.*)"$/, '$1').replace(/\\(.)/g, '$1');
  return name ? { email: match[2]!, name } : match[2]!;
}

/** The binding's error as ours: refused for good, or worth a retry. */
export function describeCloudflareError(error: unknown): Error {
  const code = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (code !== undefined) {
    if (REFUSED_CODES.has(code)) return new MailRefusedError(`Cloudflare Email Service refused the mail (${code})`);
    return new MailTransportError(`Cloudflare Email Service did not take the mail (${code})`);
  }
  // The local binding (miniflare) throws plain errors: "email from <a> not allowed", "email to <a> not allowed".
  if (/^email from .* not allowed$/.test(message)) {
    return new MailRefusedError("Cloudflare Email Service refused the mail: MAIL_FROM is not in the binding's allowed_sender_addresses");
  }
  if (/^email to .* not allowed$/.test(message)) {
    return new MailRefusedError("Cloudflare Email Service refused the mail: the recipient is not one of the binding's allowed destination addresses");
  }
  return new MailTransportError(`Cloudflare Email Service send failed (${error instanceof Error ? error.name : 'unknown error'})`);
}

export function cloudflareTransport(binding: SendEmailBinding): MailTransport {
  return {
    name: 'cloudflare',
    async send(mail, signal) {
      if (signal.aborted) throw new MailTransportError('Cloudflare Email Service send was aborted (timeout)');
      const headers = Object.fromEntries(Object.entries(mail.headers).filter(([name]) => !NOT_PASSED.has(name.toLowerCase())));
      const sending = binding.send({ from: senderOf(mail.from), to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, headers });
      // The binding takes no signal: on abort the send may still complete, but the outbox is not held.
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(new MailTransportError('Cloudflare Email Service send was aborted (timeout)'));
        signal.addEventListener('abort', onAbort, { once: true });
      });
      try {
        await Promise.race([sending.catch((error: unknown) => Promise.reject(describeCloudflareError(error))), aborted]);
      } finally {
        signal.removeEventListener('abort', onAbort!);
        aborted.catch(() => undefined);
      }
    },
  };
}
