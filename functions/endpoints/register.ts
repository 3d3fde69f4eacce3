/**
 * POST /register — start an account (lib/flows/register.ts). The answer is the same 202 whether
 * the address is new, waiting for activation, or already active.
 */
import { register, type RegisterOutcome } from '../../lib/flows/register.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { EDGE, INVALID_FIELDS, respond } from '../../lib/http/respond.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import { createRouter } from '../../lib/http/router.ts';
import { jsonPost } from '../../lib/http/routes.ts';
import { pendingAnswer, RegisterRequest } from '../../lib/http/schemas.ts';

const ANSWERS: AnswerTable<RegisterOutcome> = {
  accepted: pendingAnswer(
    'Accepted; an activation mail was written if the address can be registered',
    'If this address can be registered, an activation link is on its way to it.',
  ),
  invalid: INVALID_FIELDS,
  throttled: EDGE.throttled,
};

const route = jsonPost({
  path: '/register',
  operationId: 'register',
  summary: 'Register with an email address and a password',
  description:
    'Starts an account: the address gets a mail with an activation link (or, if it already has an account, a mail ' +
    'saying so). The answer is the same 202 whatever the address is, so it tells nobody which addresses have accounts.',
  limit: 'register',
  botCheck: true,
  body: RegisterRequest,
  answers: ANSWERS,
  edges: ['unavailable', 'busy'],
});

export const registerEndpoint = createRouter().openapi(route, async function registerAccount(c) {
  const { db, hasher, config, now, breachedPasswords } = c.get('deps');
  const { email, password } = c.req.valid('json');
  const services = { db, hasher, breachedPasswords, config, mail: mailQueueFor(c), log: c.get('log') };
  const outcome = await register(services, { email, password, clientKey: clientLimitKey(c.get('client')), admission: admissionOf(c) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
