/**
 * POST /forgot-password — a reset link for an active account, a fresh activation link for a
 * pending one, nothing for an unknown one (lib/flows/reset-password.ts). Always the same 202 (or
 * the same page) for a well-formed address.
 */
import { forgotPassword, type ForgotOutcome } from '../../lib/flows/reset-password.ts';
import { mailAfterResponse } from '../../lib/http/after-response.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { jsonOrFormPost, openapiRequiringBody } from '../../lib/http/routes.ts';
import { AddressOnly, mailRequestAnswers } from '../../lib/http/schemas.ts';
import { forgotRefusedPage, forgotSentPage } from '../../lib/pages/reset-pages.ts';

const ANSWERS: AnswerTable<ForgotOutcome> = mailRequestAnswers({
  description:
    'Accepted; a reset link (or, for an account not yet activated, an activation link) was written if the address has one',
  message: 'If this address has an account, a link to choose a new password is on its way to it.',
  sentPage: forgotSentPage,
  refusedPage: forgotRefusedPage,
});

const route = jsonOrFormPost({
  path: '/forgot-password',
  operationId: 'forgotPassword',
  summary: 'Ask for a link to choose a new password',
  description:
    'Mails a link to choose a new password to an active account, a fresh activation link to an address waiting for ' +
    'activation, and nothing to an unknown address. The answer is the same 202 for every well-formed address.',
  limit: 'forgot',
  body: AddressOnly,
  answers: ANSWERS,
  edges: ['unavailable'],
});

export const forgotPasswordEndpoint = openapiRequiringBody(createRouter(), route, async function askForReset(c) {
  const { db, config, now } = c.var.deps;
  const { email } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
  const services = { db, config, sendMail: mailAfterResponse(c), log: c.var.log };
  const outcome = await forgotPassword(services, { email, clientKey: clientLimitKey(c.var.client) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
