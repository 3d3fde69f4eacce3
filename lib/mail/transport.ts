/**
 * The boundary between Latchkey's outbox and whatever carries a mail to a person. A transport
 * takes one finished message and either resolves (the far side accepted it: the outbox row is
 * deleted), throws MailRefusedError (the far side will never take it: the row is given up), or
 * throws anything else (down, slow, a 4xx-ish temporary refusal: the row is retried later).
 */
import type { TransportName } from '../policy/mail-transport-settings.ts';
import type { Mail } from './mail.ts';

export type { TransportName };

/** A mail ready for the wire: the template's parts plus the envelope every transport needs. */
export interface OutgoingMail extends Mail {
  /** `Name <address>` or a bare address (MAIL_FROM). */
  from: string;
  /** The HTML part; the text part is `text`. Both carry the same link, if any. */
  html: string;
  /** `<id@sender-domain>`, angle brackets included. */
  messageId: string;
  /** Extra headers every transport that can set headers sends (Auto-Submitted). */
  headers: Record<string, string>;
}

export interface MailTransport {
  readonly name: TransportName;
  /** Resolves once the far side has accepted the message. `signal` aborts a send that takes too long. */
  send(mail: OutgoingMail, signal: AbortSignal): Promise<void>;
  /** Releases connections (SMTP pools); optional. */
  close?(): Promise<void> | void;
}

/**
 * A failed send whose message the transport wrote for the operator's log: what happened and the
 * host, never a credential, a link or the URL a secret sits in. The courier logs its message; of
 * any other error only the name.
 */
export class MailTransportError extends Error {
  override name = 'MailTransportError';
}

/** The far side refused the message for good (an SMTP 5xx, an HTTP 4xx other than 408/429). */
export class MailRefusedError extends MailTransportError {
  override name = 'MailRefusedError';
}
