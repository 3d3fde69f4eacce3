/**
 * The few HTML pages a person sees: the page behind the activation link and its outcomes.
 * They work without JavaScript and without the stylesheet, escape everything they echo (hono/html
 * escapes & < > " ' in every interpolation), and load nothing from anywhere: the one inline
 * stylesheet is allowed by its hash. Forms post to relative URLs, so the pages work under any
 * PUBLIC_URL path prefix.
 */
import { createHash } from 'node:crypto';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import { BOT_CHECK_SLOT } from './bot-check-widget.ts';

const STYLE = `body{font:1rem/1.5 system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem}button{font:inherit;padding:.5rem 1rem;cursor:pointer}
input{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.25rem 0 1rem}
label{display:block;font-weight:600}.note{color:#555}.error{color:#a00000;font-weight:600}
fieldset{border:0;padding:0;margin:0}section{border-top:1px solid #ccc;margin-top:1.5rem}
.result{min-height:1.5rem;margin-top:.75rem}.result ul{margin:.25rem 0}pre{white-space:pre-wrap;overflow-wrap:anywhere}`;

export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** The Content-Security-Policy for every page here: nothing but this stylesheet and same-origin forms. */
export const PAGE_CSP = `default-src 'none'; style-src ${STYLE_HASH}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;

export interface Page {
  status: 200 | 202 | 400 | 409 | 410 | 422 | 429 | 500 | 503;
  body: string;
}

type Content = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The frame every page shares; `head` takes extra elements such as the demo page's script. */
export async function renderPage(title: string, content: Content, head: Content | '' = ''): Promise<string> {
  const page = await html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · Latchkey</title>
<style>${raw(STYLE)}</style>
${head}
</head>
<body>
<main>
<h1>${title}</h1>
${content}
</main>
</body>
</html>`;
  return page.toString();
}

/**
 * The form behind an activation link: the token, the address for password managers (no name, so
 * it is not sent), the password fields the moment needs, and the one button.
 */
function activationForm(email: string, token: string, fields: HtmlEscapedString | Promise<HtmlEscapedString>) {
  return html`<form method="post" action="activate">
<input type="hidden" name="token" value="${token}">
<input type="hidden" value="${email}" autocomplete="username">
${fields}
<button type="submit">Activate account</button>
</form>
<p class="note">If you did not register, close this page: nothing happens unless you press the button.</p>`;
}

export async function confirmPage(email: string, token: string): Promise<Page> {
  return {
    status: 200,
    body: await renderPage(
      'Activate your account',
      html`<p>Activate the account for <strong>${email}</strong>?</p>
${activationForm(
  email,
  token,
  html`<label for="password">Your password</label>
<p class="note" id="password-hint">The password you chose when you registered. Another one works too, but you will be asked to type it twice.</p>
<input id="password" name="password" type="password" autocomplete="current-password" required aria-describedby="password-hint">`,
)}`,
    ),
  };
}

/**
 * The link works, but the password typed is not the one its registration was made with: the
 * person may set it as the account's password by typing it twice (lib/flows/activation.ts says why).
 */
export async function choosePasswordPage(email: string, token: string, problems: readonly string[], minLength: number): Promise<Page> {
  return {
    status: 422,
    body: await renderPage(
      'Choose the password for this account',
      html`<p>That is not the password this link was sent for: someone, you or another person, registered <strong>${email}</strong> with a different one.</p>
<p>Type the password you want for this account twice. It becomes the account's password; no other one will work.</p>
${activationForm(email, token, newPasswordFields(problems, minLength))}`,
    ),
  };
}

/** A new password typed twice, with what was wrong with the last one (activation and reset pages). */
export function newPasswordFields(problems: readonly string[], minLength: number) {
  const errors = problems.length === 0 ? '' : html`<ul class="error" id="password-error">${problems.map((p) => html`<li>${p}</li>`)}</ul>`;
  const described = problems.length === 0 ? 'password-hint' : 'password-hint password-error';
  return html`${errors}
<label for="password">Password</label>
<p class="note" id="password-hint">At least ${minLength} characters; a few unrelated words work well.</p>
<input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="${described}"${problems.length === 0 ? '' : html` aria-invalid="true"`}>
<label for="confirmPassword">The same password again</label>
<input id="confirmPassword" name="confirmPassword" type="password" autocomplete="new-password" required>`;
}

export async function activatedPage(email: string, already: boolean): Promise<Page> {
  return {
    status: 200,
    body: await renderPage(
      already ? 'Account already active' : 'Account activated',
      html`<p>The account for <strong>${email}</strong> is active. You can now log in with your email address and password.</p>`,
    ),
  };
}

/** A link that cannot be used: what happened, and the form that asks for a new one. */
export async function unusableLinkPage(
  status: 400 | 410,
  title: string,
  explanation: string,
  action: keyof typeof ADDRESS_FORMS,
  email: string,
): Promise<Page> {
  return { status, body: await renderPage(title, html`<p>${explanation}</p>
${addressForm(action, email)}`) };
}

export const invalidLinkPage = () =>
  unusableLinkPage(
    400,
    'This link does not work',
    'The activation link is incomplete, already used, or not one we sent. Copy the whole link from one of our mails, or ask for a new one.',
    'resend-activation',
    '',
  );

export const expiredLinkPage = (email: string) =>
  unusableLinkPage(410, 'This link has expired', 'Activation links work for a limited time. Ask for a new one and use it soon.', 'resend-activation', email);

export async function resendSentPage(): Promise<Page> {
  return {
    status: 202,
    body: await renderPage(
      'Check your mail',
      html`<p>If that address has an account waiting for activation, a new link is on its way. Older links no longer matter once you use the new one.</p>`,
    ),
  };
}

/** The resend form again, with what was wrong with the address it was given. */
export async function resendRefusedPage(email: string, detail: string): Promise<Page> {
  return {
    status: 422,
    body: await renderPage('Check the email address', addressForm('resend-activation', email, detail)),
  };
}

/** A form arrived without the fields its page sends (a hand-made request, or a stale page). */
export async function formErrorPage(errors: ReadonlyArray<{ pointer: string; detail: string }>): Promise<Page> {
  return {
    status: 422,
    body: await renderPage(
      'The form could not be used',
      html`<p>The form was sent without what it needs. Go back, reload the page and try again.</p>
<ul>${errors.map((e) => html`<li>${e.pointer.slice(1) || 'form'}: ${e.detail}</li>`)}</ul>`,
    ),
  };
}

export async function unavailablePage(): Promise<Page> {
  return {
    status: 503,
    body: await renderPage('Please try again shortly', html`<p>The service is busy or briefly unavailable. Nothing was changed; try again in a moment.</p>`),
  };
}

export async function errorPage(): Promise<Page> {
  return {
    status: 500,
    body: await renderPage('Something went wrong', html`<p>Something went wrong on our side. Please try again later.</p>`),
  };
}

export async function tooManyRequestsPage(retryAfterSeconds: number): Promise<Page> {
  const minutes = Math.ceil(retryAfterSeconds / 60);
  const wait = retryAfterSeconds < 120 ? `${retryAfterSeconds} seconds` : `${minutes} minutes`;
  return {
    status: 429,
    body: await renderPage('Too many attempts', html`<p>Too many requests came from your network. Nothing was changed; try again in ${wait}.</p>`),
  };
}

const ADDRESS_FORMS = { 'resend-activation': 'Send me a new link', 'forgot-password': 'Send me a reset link' };

/** A form asking for a link by mail: a new activation link, or a password reset link. */
export function addressForm(action: keyof typeof ADDRESS_FORMS, email: string, error?: string) {
  const described = error === undefined ? '' : html` aria-invalid="true" aria-describedby="email-error"`;
  return html`<form method="post" action="${action}">
<label for="email">Email address</label>
${error === undefined ? '' : html`<p class="error" id="email-error">${error}</p>`}
<input id="email" name="email" type="email" autocomplete="email" required value="${email}"${described}>
${raw(BOT_CHECK_SLOT)}
<button type="submit">${ADDRESS_FORMS[action]}</button>
</form>`;
}
