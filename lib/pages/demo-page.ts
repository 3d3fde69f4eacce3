/**
 * The demo page at GET /: register, log in, use the session (who am I, log out, change password or address,
 * delete the account), ask for a new link and for a password reset link through the JSON API, so
 * that a newcomer can try the whole flow with `npm start` and a browser. The forms are switched off until
 * the script runs (posting them without it would put a password in a URL or hit a JSON-only
 * endpoint); the page says so when JavaScript is off. It loads only this origin's script.
 */
import { createHash } from 'node:crypto';
import { html, raw } from 'hono/html';
import { BOT_CHECK_SLOT } from './bot-check-widget.ts';
import { DEMO_SCRIPT } from './demo-script.ts';
import { renderPage, STYLE_HASH } from './pages.ts';

/** Subresource Integrity of the script, so the page runs exactly the script this build serves. */
export const DEMO_SCRIPT_INTEGRITY = `sha384-${createHash('sha384').update(DEMO_SCRIPT).digest('base64')}`;

/** The strict page policy plus this origin's script and fetch() calls to this origin. */
export const DEMO_CSP = `default-src 'none'; script-src 'self'; connect-src 'self'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

function field(form: string, name: string, label: string, type: string, autocomplete: string, hint?: string) {
  const id = `${form}-${name}`;
  const hintId = `${id}-hint`;
  return html`<label for="${id}">${label}</label>
${hint === undefined ? '' : html`<p class="note" id="${hintId}">${hint}</p>`}
<input id="${id}" name="${name}" type="${type}" autocomplete="${autocomplete}" required${hint === undefined ? '' : html` aria-describedby="${hintId}"`}>`;
}

/** The endpoints behind the bot check (lib/http/turnstile.ts): their forms get the widget when it is on. */
const BOT_CHECKED = new Set(['register', 'login', 'resend-activation', 'forgot-password']);

function apiForm(endpoint: string, heading: string, intro: string, fields: unknown, button: string, level = 2) {
  const title = level === 2 ? html`<h2 id="${endpoint}-heading">${heading}</h2>` : html`<h3 id="${endpoint}-heading">${heading}</h3>`;
  return html`<section aria-labelledby="${endpoint}-heading">
${title}
<p>${intro}</p>
<form data-endpoint="${endpoint}" method="post" action="#" novalidate>
<fieldset disabled>
${fields}
${BOT_CHECKED.has(endpoint) ? raw(BOT_CHECK_SLOT) : ''}
<button type="submit">${button}</button>
</fieldset>
<div class="result" role="status" aria-live="polite"></div>
</form>
</section>`;
}

/** `mailbox`: the development mailbox's relative address, when this client may open it (functions/endpoints/dev-mail.ts). */
export async function demoPage(passwordMinLength: number, mailbox?: string): Promise<string> {
  return renderPage(
    'Try Latchkey',
    html`<p>This page calls Latchkey's JSON API, as your own app would, and says what each answer means.</p>
<noscript><p class="error">This page needs JavaScript to call the API. Without it, use the curl examples in the README; the activation link works without JavaScript.</p></noscript>
${apiForm(
  'register',
  '1. Register',
  'Choose an email address and a password.',
  html`${field('register', 'email', 'Email address', 'email', 'email')}
${field('register', 'password', 'Password', 'password', 'new-password', `At least ${passwordMinLength} characters. A few unrelated words make a good one.`)}`,
  'Register',
)}
<section aria-labelledby="activate-heading"${mailbox === undefined ? '' : html` data-mailbox="${mailbox}"`}>
<h2 id="activate-heading">2. Activate</h2>
${
  mailbox === undefined
    ? html`<p>Open the link from the activation mail, enter the password you registered with, and press its button. Running <code>npm start</code>, the mail is a line in the terminal that starts with <code>{"event":"mail"</code>: copy its <code>link</code> into the address bar.</p>`
    : html`<p>This server is in development mode, so the mail also waits in <a href="${mailbox}">the development mailbox</a>: open it, click the link in the newest mail, enter the password you registered with and press the button.</p>`
}
</section>
${apiForm(
  'login',
  '3. Log in',
  'Once the account is active, log in with the same address and password.',
  html`${field('login', 'email', 'Email address', 'email', 'email')}
${field('login', 'password', 'Password', 'password', 'current-password')}`,
  'Log in',
)}
<section aria-labelledby="session-heading">
<h2 id="session-heading">4. Your session</h2>
<p>A login hands this page a session token, which it keeps in memory only (a reload forgets it) and sends as <code>Authorization: Bearer …</code>.</p>
<p id="whoami" role="status" aria-live="polite">Not logged in.</p>
<div data-session-actions>
<fieldset disabled>
<button type="button" data-action="session">Who am I?</button>
<button type="button" data-action="logout">Log out</button>
</fieldset>
<div class="result" role="status" aria-live="polite"></div>
</div>
${apiForm(
  'change-password',
  'Change password',
  'Every other session of the account ends; this one stays.',
  html`${field('change', 'currentPassword', 'Current password', 'password', 'current-password')}
${field('change', 'newPassword', 'New password', 'password', 'new-password', `At least ${passwordMinLength} characters.`)}`,
  'Change password',
  3,
)}
${apiForm(
  'change-email',
  'Change address',
  'A link goes to the new address; nothing changes until it is used. The old address then gets a mail that can undo it.',
  html`${field('change-email', 'password', 'Password', 'password', 'current-password')}
${field('change-email', 'newEmail', 'New email address', 'email', 'email')}`,
  'Send me a link',
  3,
)}
${apiForm('delete-account', 'Delete account', 'The account and every session of it are gone for good.', field('delete', 'password', 'Password', 'password', 'current-password'), 'Delete my account', 3)}
</section>
${apiForm(
  'resend-activation',
  'Lost the link?',
  'Ask for a new activation link for an address that is still waiting for activation.',
  field('resend', 'email', 'Email address', 'email', 'email'),
  'Send me a new link',
)}
${apiForm(
  'forgot-password',
  'Forgot your password?',
  'Ask for a link to choose a new password. It goes to the address, and works once, for an hour.',
  field('forgot', 'email', 'Email address', 'email', 'email'),
  'Send me a reset link',
)}
<p class="note">For developers: the API is described by <a href="openapi.json">its OpenAPI document</a>.</p>`,
    html`<script src="demo.js" integrity="${DEMO_SCRIPT_INTEGRITY}" defer></script>`,
  );
}
