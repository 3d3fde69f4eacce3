/**
 * POST /resend-activation — a fresh link for an address still waiting for activation
 * (lib/flows/resend-activation.ts). Always 202 (or the same page), whatever the address is.
 */
import { resendActivation, type ResendOutcome } from '../../lib/flows/resend-activation.ts';
import { mailAfterResponse } from '../../lib/http/after-response.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { jsonOrFormPost, openapiRequiringBody } from '../../lib/http/routes.ts';
import { AddressOnly, mailRequestAnswers } from '../../lib/http/schemas.ts';
import { resendRefusedPage, resendSentPage } from '../../lib/pages/pages.ts';

const ANSWERS: AnswerTable<ResendOutcome> = mailRequestAnswers({
  description:
    'Accepted; a new link was written if the address is waiting for activation',
  message: 'If this address is waiting for activation, a new link is on its way to it.',
  sentPage: resendSentPage,
  refusedPage: resendRefusedPage,
});

const route = jsonOrFormPost({
  path: '/resend-activation',
  operationId: 'resendActivation',
  summary: 'Ask for a new activation link',
  description:
    'Mails a new activation link to an address that is waiting for activation (older links keep working until one is ' +
    'used). The answer is the same 202 whatever the address is.',
  limit: 'resend',
  body: AddressOnly,
  answers: ANSWERS,
  edges: ['unavailable'],
});

export const resendActivationEndpoint = openapiRequiringBody(createRouter(), route, async function resendLink(c) {
  const { db, config, now } = c.var.deps;
  const { email } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
  const services = { db, config, sendMail: mailAfterResponse(c), log: c.var.log };
  const outcome = await resendActivation(services, { email, clientKey: clientLimitKey(c.var.client) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
