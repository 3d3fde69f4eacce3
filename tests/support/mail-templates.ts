/** One mail of each kind the templates make, for the renderer's tests and its screenshots. */
import { activationMail, noticeMail, resetMail, type Mail } from '../../lib/mail/mail.ts';

// Tokens as long as real ones (43 characters) and without a hyphen, the one character a browser
// may break a line after: the hardest link to fit on a phone.
export const ACTIVATE = 'https://auth.example.com/activate?token=AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_abcdef';
export const RESET = 'https://auth.example.com/reset-password?token=ZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210_fedcba';

/** Every template (activation twice: registered, and asked for by a forgotten password), named for test titles and screenshot files. */
export const EVERY_TEMPLATE: ReadonlyArray<[string, Mail]> = [
  ['activation', activationMail('ada@example.com', ACTIVATE, 86400)],
  ['activation-forgot', activationMail('ada@example.com', ACTIVATE, 86400, true)],
  ['password-reset', resetMail('ada@example.com', RESET, 3600)],
  ['already-registered', noticeMail('already-registered', 'ada@example.com')],
  ['already-active', noticeMail('already-active', 'ada@example.com')],
  ['password-changed', noticeMail('password-changed', 'ada@example.com')],
  ['account-deleted', noticeMail('account-deleted', 'ada@example.com')],
  ['second-factor-off', noticeMail('second-factor-off', 'ada@example.com')],
];
