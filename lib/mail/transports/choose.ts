/**
 * MAIL_TRANSPORT made into a transport, with what only the runtime can give: where log lines go,
 * Cloudflare's send_email binding (Workers), and the SMTP transport (Node: nodemailer needs
 * node:net, so the Worker bundle must never import it, and the Node entry passes it in).
 */
import { ConfigError } from '../../config/vars.ts';
import type { MailSettings } from '../../config/mail-settings.ts';
import type { MailTransport } from '../transport.ts';
import { cloudflareTransport, type SendEmailBinding } from './cloudflare.ts';
import { logTransport } from './log.ts';
import { webhookTransport } from './webhook.ts';

export interface TransportRuntime {
  runtime: 'Workers' | 'Node';
  writeLine: (line: string) => void;
  /** Workers: the `EMAIL` send_email binding, if declared. */
  emailBinding?: SendEmailBinding | undefined;
  /** Node: builds the SMTP transport. */
  smtp?: (settings: NonNullable<MailSettings['smtp']>, timeoutMs: number) => MailTransport;
}

export function chooseTransport(settings: MailSettings, runtime: TransportRuntime): MailTransport {
  switch (settings.transport) {
    case 'log':
      return logTransport(runtime.writeLine);
    case 'webhook':
      return webhookTransport({ ...settings.webhook!, timeoutMs: settings.timeoutMs });
    case 'smtp':
      if (!runtime.smtp) throw new ConfigError('MAIL_TRANSPORT=smtp runs on the Node server only; on Workers use cloudflare or webhook');
      return runtime.smtp(settings.smtp!, settings.timeoutMs);
    case 'cloudflare':
      if (runtime.runtime !== 'Workers') throw new ConfigError('MAIL_TRANSPORT=cloudflare runs on Workers only; on Node use smtp or webhook');
      if (!runtime.emailBinding) throw new ConfigError('MAIL_TRANSPORT=cloudflare needs a send_email binding named EMAIL in wrangler.toml');
      return cloudflareTransport(runtime.emailBinding);
  }
}
