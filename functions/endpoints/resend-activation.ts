/**
 * POST /resend-activation — a fresh link for an address still waiting for activation
 * (lib/flows/resend-activation.ts). Always 202 (or the same page), whatever the address is.
 */
import { resendActivation } from '../../lib/flows/resend-activation.ts';
import { mailRequestEndpoint } from '../../lib/http/mail-request.ts';
import { resendRefusedPage, resendSentPage } from '../../lib/pages/pages.ts';

export const resendActivationEndpoint = mailRequestEndpoint({
  path: '/resend-activation',
  operationId: 'resendActivation',
  summary: 'Ask for a new activation link',
  description:
    'Mails a new activation link to an address that is waiting for activation (older links keep working until one is ' +
    'used). The answer is the same 202 whatever the address is.',
  limit: 'resend',
  accepted: {
    description: 'Accepted; a new link was written if the address is waiting for activation',
    message: 'If this address is waiting for activation, a new link is on its way to it.',
  },
  sentPage: resendSentPage,
  refusedPage: resendRefusedPage,
  flow: resendActivation,
});
