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
import { INVALID_FIELDS, respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { formOrJsonPost } from '../../lib/http/routes.ts';
import { AddressOnly, pendingAnswer } from '../../lib/http/schemas.ts';
import { forgotRefusedPage, forgotSentPage } from '../../lib/pages/reset-pages.ts';

const ANSWERS: AnswerTable<ForgotOutcome> = {
  accepted: {
    ...pendingAnswer(
      'Accepted; a reset link (or, for an account not yet activated, an activation link) was written if the address has one',
      'If this address has an account, a link to choose a new password is on its way to it.',
    ),
    page: forgotSentPage,
  },
  invalid: { ...INVALID_FIELDS, page: (o) => forgotRefusedPage(o.email, o.errors[0]?.detail ?? '') },
};

const route = formOrJsonPost({
  path: '/forgot-password',
  summary: 'Ask for a link to choose a new password',
  limit: 'forgot',
  body: AddressOnly,
  answers: ANSWERS,
  edges: ['unavailable'],
});

export const forgotPasswordEndpoint = createRouter().openapi(route, async function askForReset(c) {
  const { db, config, now } = c.var.deps;
  const { email } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
  const services = { db, config, sendMail: mailAfterResponse(c), log: c.var.log };
  const outcome = await forgotPassword(services, { email, clientKey: clientLimitKey(c.var.client) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
