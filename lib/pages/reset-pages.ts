/**
 * The pages of a password reset: the one behind the mailed link (the address it is for, and the
 * new password typed twice), the ones for a link that no longer works (each with a form asking for
 * a new one), and the answers to the forms. The form posts the token back; the page itself changes
 * nothing, so a mail scanner that opens the link resets nothing.
 */
import { html } from 'hono/html';
import { addressForm, newPasswordFields, renderPage, unusableLinkPage, type Page } from './pages.ts';

/** The form behind a reset link, with what was wrong with the last password typed, if anything. */
export async function resetPasswordPage(email: string, token: string, problems: readonly string[], minLength: number): Promise<Page> {
  return {
    status: problems.length === 0 ? 200 : 422,
    body: await renderPage(
      'Choose a new password',
      html`<p>Choose a new password for <strong>${email}</strong>. Type it twice.</p>
<form method="post" action="reset-password">
<input type="hidden" name="token" value="${token}">
<input type="hidden" value="${email}" autocomplete="username">
${newPasswordFields(problems, minLength)}
<button type="submit">Change password</button>
</form>
<p class="note">If you did not ask for this, close this page: your password stays as it is unless you press the button.</p>`,
    ),
  };
}

export async function passwordChangedPage(email: string): Promise<Page> {
  return {
    status: 200,
    body: await renderPage(
      'Password changed',
      html`<p>The password for <strong>${email}</strong> is changed, and the old one no longer works. Log in with the new one.</p>`,
    ),
  };
}

export const invalidResetLinkPage = () =>
  unusableLinkPage(
    400,
    'This link does not work',
    'The reset link is incomplete, already used, or not one we sent. Each link works once. Ask for a new one:',
    'forgot-password',
    '',
  );

export const expiredResetLinkPage = (email: string) =>
  unusableLinkPage(410, 'This link has expired', 'Reset links work for a short time only. Ask for a new one and use it soon.', 'forgot-password', email);

export async function forgotSentPage(): Promise<Page> {
  return {
    status: 202,
    body: await renderPage(
      'Check your mail',
      html`<p>If that address has an account, a link to choose a new password is on its way to it. It works once, for a short time.</p>`,
    ),
  };
}

/** The forgot-password form again, with what was wrong with the address it was given. */
export async function forgotRefusedPage(email: string, detail: string): Promise<Page> {
  return { status: 422, body: await renderPage('Check the email address', addressForm('forgot-password', email, detail)) };
}
