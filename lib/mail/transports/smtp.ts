/**
 * The SMTP transport (Node only: nodemailer needs node:net and node:tls; nothing the Worker
 * imports may import this module).
 *
 * SMTP_URL is `smtp://user:pass@host:587` (STARTTLS, required) or `smtps://user:pass@host:465`
 * (TLS from the first byte). The one exception to "TLS or nothing" is a relay on this machine
 * (127.0.0.0/8, ::1, localhost), whose traffic never crosses a network: plain SMTP, or STARTTLS
 * without a certificate check if the relay offers it. `?tls=required` takes the exception back.
 *
 * Errors carry a message naming what happened and the host, never the URL: it holds the password,
 * and nodemailer's own errors may quote server replies to AUTH. No cause is attached for the same
 * reason (a logger that walks `cause` would print it).
 */
import { createTransport, type NodemailerError } from 'nodemailer';
import { MailRefusedError, MailTransportError, type MailTransport } from '../transport.ts';
import { isLoopbackHost, parseSmtpUrl, smtpUrlProblem, type SmtpTarget } from '../../policy/mail-transport-settings.ts';

export { isLoopbackHost, parseSmtpUrl, smtpUrlProblem, type SmtpTarget };

export interface SmtpOptions {
  url: string;
  /** PEM text of a private CA to trust besides the system's (SMTP_CA_FILE's content). */
  caPem?: string;
  /** Per connection step and for the whole send; defaults to 10 s. */
  timeoutMs?: number;
}

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_|^ERR_TLS|^ERR_SSL|^EPROTO$|HOSTNAME/;

/** What went wrong, in words an operator can act on, and whether the mail should be given up. */
export function describeSmtpError(error: unknown, where: string, timeoutMs: number): Error {
  const e = (error ?? {}) as NodemailerError;
  const code = e.code ?? '';
  const original = e.originalCode ?? '';
  const reply = typeof e.responseCode === 'number' ? e.responseCode : undefined;
  // An RFC 3463 enhanced status (5.1.1) says why without quoting the reply text.
  const status = /\b[245]\.\d{1,3}\.\d{1,3}\b/.exec(e.response ?? '')?.[0];
  const replyText = reply === undefined ? '' : ` ${reply}${status ? ` ${status}` : ''}`;
  if (code === 'EAUTH' || reply === 535 || reply === 534) {
    return new MailTransportError(`SMTP server ${where} refused the login${replyText} (check the user name and password in SMTP_URL)`);
  }
  if (code === 'ENOAUTH') return new MailTransportError(`SMTP server ${where} wants a login: SMTP_URL has no user name and password`);
  if (code === 'ETLS' || code === 'EREQUIRETLS' || TLS_CODES.test(original) || TLS_CODES.test(code)) {
    if (e.command === 'STARTTLS' && reply !== undefined) {
      return new MailTransportError(`SMTP server ${where}: TLS failed: the server refused STARTTLS with${replyText} (use smtps:// if it only takes TLS from the first byte)`);
    }
    const detail = original && TLS_CODES.test(original) ? ` (${original})` : '';
    return new MailTransportError(`SMTP server ${where}: TLS failed${detail}; check its certificate and SMTP_CA_FILE`);
  }
  if (code === 'ETIMEDOUT') return new MailTransportError(`SMTP server ${where} did not answer within ${timeoutMs} ms`);
  if (code === 'EDNS') return new MailTransportError(`SMTP server ${where}: the host name did not resolve`);
  if (original === 'ECONNREFUSED') {
    return new MailTransportError(`SMTP server ${where} refused the connection (nothing listens there)`);
  }
  // Only a refusal of this message is final: a 5xx to the greeting or EHLO is the server's state
  // or ours (a relay refusing our address, say), which the operator can change.
  const command = /^(MAIL|RCPT|DATA)\b/i.exec(e.command ?? '')?.[1]?.toUpperCase();
  if (reply !== undefined && reply >= 500 && e.permanent !== false && command) {
    return new MailRefusedError(`SMTP server ${where} refused the mail at ${command} with${replyText}`);
  }
  if (reply !== undefined) return new MailTransportError(`SMTP server ${where} answered${replyText}${e.command ? ` to ${e.command.split(' ')[0]}` : ''}; will retry`);
  if (code === 'ECONNECTION' || code === 'ESOCKET') {
    return new MailTransportError(`SMTP connection to ${where} failed${original ? ` (${original})` : ''}`);
  }
  return new MailTransportError(`SMTP send to ${where} failed${code ? ` (${code})` : ''}`);
}

export function smtpTransport(options: SmtpOptions): MailTransport {
  const target = parseSmtpUrl(options.url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  const where = `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const relaxed = !target.implicitTls && !target.requireStartTls;
  // One connection per mail rather than a pool: the outbox sends a few mails at a time, and a
  // pooled connection that the server dropped while idle would fail the next mail for nothing.
  const transporter = createTransport({
    host: target.host,
    port: target.port,
    secure: target.implicitTls,
    requireTLS: target.requireStartTls,
    auth: target.user !== undefined ? { user: target.user, pass: target.pass } : undefined,
    // With credentials given, log in even if the server does not advertise AUTH, rather than send
    // unauthenticated and be taken for an open-relay attempt.
    forceAuth: target.user !== undefined,
    tls: {
      minVersion: 'TLSv1.2',
      ...(options.caPem ? { ca: [options.caPem] } : {}),
      // A loopback relay may be spoken to in plain, so STARTTLS there, if offered, is taken without
      // checking the certificate: local relays often present a self-signed one (Debian's Postfix
      // does), and refusing it would block mail that could have gone in plain.
      ...(relaxed ? { rejectUnauthorized: false } : {}),
    },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    logger: false,
    debug: false,
  });

  return {
    name: 'smtp',
    async send(mail, signal) {
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        await transporter.sendMail({
          from: mail.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          headers: mail.headers,
          signal: AbortSignal.any([signal, timeout]),
        });
      } catch (error) {
        if (timeout.aborted) throw new MailTransportError(`SMTP server ${where} did not take the mail within ${timeoutMs} ms`);
        if (signal.aborted) throw new MailTransportError(`SMTP send to ${where} was aborted`);
        throw describeSmtpError(error, where, timeoutMs);
      }
    },
    close() {
      transporter.close();
    },
  };
}
