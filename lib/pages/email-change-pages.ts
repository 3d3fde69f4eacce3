/**
 * The pages of a change of address: behind the link to the new address (both addresses, one
 * button), behind the undo link to the old one (the same), and their outcomes. Each link page
 * changes nothing; its form posts the token back, so a mail scanner that opens a link moves no
 * account.
 */
import { html } from 'hono/html';
import { renderPage, type Page } from './pages.ts';

const page = async (status: Page['status'], title: string, content: ReturnType<typeof html>): Promise<Page> => ({
  status,
  body: await renderPage(title, content),
});

export const confirmEmailPage = (oldEmail: string, newEmail: string, token: string) =>
  page(
    200,
    'Confirm your new address',
    html`<p>Move the account from <strong>${oldEmail}</strong> to <strong>${newEmail}</strong>?</p>
<form method="post" action="confirm-email">
<input type="hidden" name="token" value="${token}">
<button type="submit">Use ${newEmail}</button>
</form>
<p class="note">Other sessions of the account end, and ${oldEmail} gets a mail that can undo the change for a while. If you did not ask for this, close this page: nothing changes unless you press the button.</p>`,
  );

export const emailChangedPage = (newEmail: string) =>
  page(
    200,
    'Address changed',
    html`<p>The account now uses <strong>${newEmail}</strong>. Log in with it from now on; the old address no longer works.</p>`,
  );

export const addressTakenPage = (newEmail: string) =>
  page(
    409,
    'This address is not free',
    html`<p><strong>${newEmail}</strong> belongs to another account now, so the account keeps its address. Nothing was changed.</p>`,
  );

export const invalidEmailLinkPage = () =>
  page(
    400,
    'This link does not work',
    html`<p>The link is incomplete, already used, replaced by a newer change, or not one we sent. To change the address, log in and ask again.</p>`,
  );

export const expiredEmailLinkPage = (newEmail: string) =>
  page(
    410,
    'This link has expired',
    html`<p>Links to confirm a new address work for a short time only. To move the account to <strong>${newEmail}</strong>, log in and ask again, then use the new link soon.</p>`,
  );

export const undoEmailPage = (oldEmail: string, newEmail: string, token: string) =>
  page(
    200,
    'Take your address back',
    html`<p>The account for <strong>${oldEmail}</strong> was moved to <strong>${newEmail}</strong>. Give it back to <strong>${oldEmail}</strong>?</p>
<form method="post" action="undo-email-change">
<input type="hidden" name="token" value="${token}">
<button type="submit">Undo the change</button>
</form>
<p class="note">Every session of the account ends, and you then choose a new password. If the change was yours, close this page: nothing happens unless you press the button.</p>`,
  );

export const restoredPage = (oldEmail: string) =>
  page(
    200,
    'Your address is back',
    html`<p>The account uses <strong>${oldEmail}</strong> again, and every session of it has ended.</p>
<p><strong>Reset your password now:</strong> whoever moved the account knew it. A link to choose a new one is on its way to ${oldEmail}; if it does not come, use "Forgot your password?" on the login page.</p>`,
  );

export const invalidUndoLinkPage = () =>
  page(400, 'This link does not work', html`<p>The link is incomplete, already used, or not one we sent. Each link works once.</p>`);

export const expiredUndoLinkPage = (oldEmail: string) =>
  page(
    410,
    'This link has expired',
    html`<p>The time to undo this change has passed, and <strong>${oldEmail}</strong> is no longer held for the account. If you did not make the change, contact the service's support.</p>`,
  );
