/**
 * POST /change-email — the password and a new address, for a logged-in account
 * (lib/flows/change-email.ts). The same 202 for every well-formed address; the link goes to the
 * new address, and nothing changes until it is used (functions/endpoints/confirm-email.ts).
 */
import { z } from '@hono/zod-openapi';
import { requestEmailChange, type ChangeEmailOutcome } from '../../lib/flows/change-email.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { bearerPost } from '../../lib/http/bearer-routes.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { EDGE, INVALID_FIELDS } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { codeIfTotp, WRONG_CODE } from '../../lib/http/mfa-schemas.ts';
import { emailField, pendingAnswer, text, WRONG_PASSWORD } from '../../lib/http/schemas.ts';

export const ChangeEmailBody = z
  .object({
    password: text(1024).openapi({ description: "The account's current password" }),
    newEmail: emailField().openapi({ example: 'ada@new.example' }),
    code: codeIfTotp(),
  })
  .strict()
  .openapi('ChangeEmailRequest');

const ANSWERS: AnswerTable<Exclude<ChangeEmailOutcome, { kind: 'unauthenticated' }>> = {
  pending: pendingAnswer(
    'Accepted; a link was mailed to the new address if it can take the account. Nothing has changed yet',
    'If this address can take the account, a link to confirm it is on its way to it. Nothing changes until it is used.',
  ),
  wrong: WRONG_PASSWORD,
  'wrong-code': WRONG_CODE,
  throttled: EDGE.throttled,
  invalid: INVALID_FIELDS,
};

const route = bearerPost({
  path: '/change-email',
  operationId: 'changeEmail',
  summary: 'Ask to move the logged-in account to another address',
  description:
    'Asks for the current password again (a wrong one counts in the login back-off). The new address gets a link ' +
    '(GET/POST /confirm-email); the answer is the same 202 whether the address is free, taken, pending for another ' +
    'account or already this one, so it tells nobody which addresses have accounts. Nothing changes until the link is used.',
  // Password guesses: the login's allowance per client.
  limit: 'login',
  body: ChangeEmailBody,
  answers: ANSWERS,
  edges: ['unavailable', 'busy'],
});

export const changeEmailEndpoint = createRouter().openapi(route, async function askToChangeEmail(c) {
  const { db, hasher, sealer, config, now } = c.get('deps');
  const { password, newEmail, code } = c.req.valid('json');
  const services = { db, hasher, sealer, config, mail: mailQueueFor(c), log: c.get('log') };
  const request = { bearer: presentedOf(c), password, newEmail, code, clientKey: clientLimitKey(c.get('client')) };
  return respondInFlow(c, ANSWERS, await requestEmailChange(services, request, now()));
});
