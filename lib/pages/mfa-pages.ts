/**
 * The page version of POST /mfa/totp/setup: the new secret as a QR code to scan, and as text to
 * type. The QR code is an inline SVG drawn here on the server (uqr), so the page loads nothing and
 * its Content-Security-Policy stays `default-src 'none'`.
 */
import { html, raw } from 'hono/html';
import { renderSVG } from 'uqr';
import { renderPage, type Page } from './pages.ts';

/** The secret in groups of four, as authenticator apps show it and people type it. */
const grouped = (secret: string) => secret.match(/.{1,4}/g)!.join(' ');

export async function totpSetupPage(secret: string, otpauthUri: string): Promise<Page> {
  // uqr escapes what it puts in attributes; the SVG holds no text of ours, only the modules' path.
  const qr = renderSVG(otpauthUri, { ecc: 'M', border: 2, pixelSize: 6 }).replace('<svg ', '<svg role="img" aria-label="QR code of the authenticator secret" width="240" height="240" ');
  return {
    status: 200,
    body: await renderPage(
      'Set up your authenticator',
      html`<p>Scan this code with your authenticator app, or type the key below into it.</p>
<figure>${raw(qr)}</figure>
<p>Key: <code id="totp-secret">${grouped(secret)}</code></p>
<p class="note">Then send a code from the app to POST /mfa/totp/enable to turn it on. Until then, nothing has changed: your password alone still logs you in.</p>`,
    ),
  };
}
