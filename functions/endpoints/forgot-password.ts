/**
 * POST /forgot-password — a reset link for an active account, a fresh activation link for a
 * pending one, nothing for an unknown one (lib/flows/reset-password.ts). Always the same 202 (or
 * the same page) for a well-formed address.
 */
import { forgotPassword } from '../../lib/flows/reset-password.ts';
import { mailRequestEndpoint } from '../../lib/http/mail-request.ts';
import { forgotRefusedPage, forgotSentPage } from '../../lib/pages/reset-pages.ts';

export const forgotPasswordEndpoint = mailRequestEndpoint({
  path: '/forgot-password',
  operationId: 'forgotPassword',
  summary: 'Ask for a link to choose a new password',
  description:
    'Mails a link to choose a new password to an active account, a fresh activation link to an address waiting for ' +
    'activation, and nothing to an unknown address. The answer is the same 202 for every well-formed address.',
  limit: 'forgot',
  accepted: {
    description: 'Accepted; a reset link (or, for an account not yet activated, an activation link) was written if the address has one',
    message: 'If this address has an account, a link to choose a new password is on its way to it.',
  },
  sentPage: forgotSentPage,
  refusedPage: forgotRefusedPage,
  flow: forgotPassword,
});
