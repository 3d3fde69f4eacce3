/**
 * The `log` transport: each mail as one JSON line, the development default. Its line is the one
 * log line Latchkey writes that carries a link, which is why production wants another transport
 * (the start-up line warns when a public PUBLIC_URL mails through this one).
 */
import { toConsole } from '../../log.ts';
import type { MailTransport } from '../transport.ts';

export function logTransport(writeLine: (line: string) => void = toConsole): MailTransport {
  return {
    name: 'log',
    async send(mail) {
      const { template, to, subject, link, text, messageId } = mail;
      writeLine(JSON.stringify({ event: 'mail', template, to, subject, ...(link === undefined ? {} : { link }), text, messageId }));
    },
  };
}
