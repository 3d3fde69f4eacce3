/**
 * A template's Mail made into the message a transport sends (placeholder until the HTML renderer
 * lands: the HTML part is the text, escaped, in a <pre>).
 */
import type { Mail } from './mail.ts';
import type { OutgoingMail } from './transport.ts';

const escape = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function renderMail(mail: Mail, brand: { appName: string; from: string }, id: string): OutgoingMail {
  const address = /<([^<>]+)>\s*$/.exec(brand.from)?.[1] ?? brand.from.trim();
  const domain = address.slice(address.lastIndexOf('@') + 1);
  const subject = `${mail.subject} — ${brand.appName}`;
  return {
    ...mail,
    subject,
    from: brand.from,
    html: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(subject)}</title></head><body><pre>${escape(mail.text)}</pre></body></html>`,
    messageId: `<${id}@${domain}>`,
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}
