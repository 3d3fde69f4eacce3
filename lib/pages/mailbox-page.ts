/**
 * The development mailbox's page (GET /dev/mail): the kept mails, newest first, each with its
 * link as a link. Like the other pages it runs no script, loads nothing from elsewhere and escapes
 * everything it shows (hono/html escapes every interpolation); links are relative, so it works
 * under any PUBLIC_URL path prefix.
 */
import { html } from 'hono/html';
import type { KeptMail } from '../mail/mailbox.ts';
import { renderPage } from './pages.ts';

/** The mail's text with its link (built from PUBLIC_URL, never from a request) made clickable. */
function body({ text, link }: KeptMail['mail']) {
  if (!link || !text.includes(link)) return html`<pre>${text}</pre>`;
  const [before, ...rest] = text.split(link);
  return html`<pre>${before}<a href="${link}">${link}</a>${rest.join(link)}</pre>`;
}

function mailItem({ mail, sentAt }: KeptMail, index: number) {
  const when = new Date(sentAt).toISOString();
  return html`<section aria-labelledby="mail-${index}">
<h2 id="mail-${index}">${mail.subject}</h2>
<p class="note">To <strong>${mail.to}</strong> at <time datetime="${when}">${when.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time></p>
${body(mail)}
</section>`;
}

export async function mailboxPage(mails: KeptMail[], capacity: number): Promise<string> {
  return renderPage(
    'Development mailbox',
    html`<p>This server is in development mode (its <code>PUBLIC_URL</code> points at this machine), so it keeps the mails it sends here as well: the last ${capacity} since it started, newest first, in memory only. In production mode this page does not exist.</p>
<p><a href="mail">Reload</a> · <a href="../">Back to the demo page</a></p>
${mails.length === 0 ? html`<p>No mail yet. Register on the demo page, then reload this page.</p>` : mails.map(mailItem)}`,
  );
}
