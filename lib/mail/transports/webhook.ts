/**
 * The webhook transport: POSTs each mail as JSON to an operator's endpoint, which forwards it to
 * whatever mail API they use. fetch and WebCrypto only, so that the Worker and Node share it.
 *
 * The body is signed Stripe-style (`Latchkey-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over
 * `${t}.${body}`): the timestamp inside the MAC lets a receiver refuse a captured request replayed
 * later, and a receiver that only knows the secret can check it with verifyWebhookSignature.
 */
import { MailRefusedError, MailTransportError, type MailTransport, type OutgoingMail } from '../transport.ts';
import { webhookSecretProblem, webhookUrlProblem } from '../../policy/mail-transport-settings.ts';

export { webhookSecretProblem, webhookUrlProblem };

export interface WebhookOptions {
  url: string;
  secret: string;
  /** Defaults to 10 s; the caller's signal may end the send sooner. */
  timeoutMs?: number;
  /** Milliseconds since the epoch, as Date.now; tests move it to make stale signatures. */
  now?: () => number;
}

export const SIGNATURE_HEADER = 'Latchkey-Signature';

const encoder = new TextEncoder();

function hmacKey(secret: string, usage: 'sign' | 'verify'): Promise<CryptoKey> {
  return crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
}

const toHex = (bytes: ArrayBuffer) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, '0')).join('');

function fromHex(hex: string): Uint8Array | undefined {
  if (!/^[0-9a-f]{64}$/i.test(hex)) return undefined;
  return Uint8Array.from({ length: 32 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

/** The header value for `body` sent at `unixSeconds`. */
export async function signWebhookBody(secret: string, body: string, unixSeconds: number): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), encoder.encode(`${unixSeconds}.${body}`));
  return `t=${unixSeconds},v1=${toHex(mac)}`;
}

/**
 * For receivers: true when `header` carries a v1 MAC of `body` made with `secret` at a time within
 * `toleranceSeconds` of `nowSeconds` (either way: a sender's clock may run ahead). Several v1 entries
 * are allowed so that a receiver can take both secrets while one is being rotated.
 */
export async function verifyWebhookSignature(
  secret: string,
  header: string | null | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): Promise<boolean> {
  if (!header) return false;
  let timestamp: string | undefined;
  const macs: Uint8Array[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') timestamp = value;
    else if (key === 'v1') {
      const mac = fromHex(value);
      if (mac) macs.push(mac);
    }
  }
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp) || macs.length === 0) return false;
  if (Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) return false;
  const key = await hmacKey(secret, 'verify');
  const signed = encoder.encode(`${timestamp}.${body}`);
  // subtle.verify compares in constant time, which a string comparison of hex would not.
  let valid = false;
  for (const mac of macs) {
    if (await crypto.subtle.verify('HMAC', key, mac, signed)) valid = true;
  }
  return valid;
}

/** The JSON a receiver gets. */
export interface WebhookPayload {
  id: string;
  template: OutgoingMail['template'];
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export function webhookTransport(options: WebhookOptions): MailTransport {
  const { url, secret } = options;
  const problem = webhookUrlProblem(url) ?? webhookSecretProblem(secret);
  if (problem) throw new Error(problem);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const now = options.now ?? Date.now;
  // The URL may carry a token in its path or query: errors name the host only.
  const host = new URL(url).host;

  return {
    name: 'webhook',
    async send(mail, signal) {
      const payload: WebhookPayload = {
        id: mail.messageId,
        template: mail.template,
        from: mail.from,
        to: mail.to,
        subject: mail.subject,
        text: mail.text,
        html: mail.html,
        headers: mail.headers,
      };
      const body = JSON.stringify(payload);
      const signature = await signWebhookBody(secret, body, Math.floor(now() / 1000));
      const timeout = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: signature },
          body,
          signal: AbortSignal.any([signal, timeout]),
          redirect: 'manual',
        });
      } catch (error) {
        if (timeout.aborted) throw new MailTransportError(`mail webhook at ${host} did not answer within ${timeoutMs} ms`);
        if (signal.aborted) throw new MailTransportError(`mail webhook send to ${host} was aborted`);
        throw new MailTransportError(`mail webhook at ${host} could not be reached (${error instanceof Error ? error.name : 'unknown error'})`);
      }
      // The answer's body is not read: dropping it frees the connection.
      await response.body?.cancel().catch(() => undefined);
      const status = response.status;
      if (status >= 200 && status < 300) return;
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new MailRefusedError(`mail webhook at ${host} refused the mail with HTTP ${status}`);
      }
      // 5xx, 408, 429, and 3xx (a redirect is a misconfigured URL the operator can fix) are retried.
      throw new MailTransportError(`mail webhook at ${host} answered HTTP ${status}`);
    },
  };
}
