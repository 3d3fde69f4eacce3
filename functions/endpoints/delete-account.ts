/**
 * POST /delete-account — the password again, and the logged-in account is gone with everything
 * kept about its address (lib/flows/delete-account.ts).
 */
import { z } from '@hono/zod-openapi';
import { deleteAccount, type DeleteAccountOutcome } from '../../lib/flows/delete-account.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { EDGE } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { bearerPost } from '../../lib/http/bearer-routes.ts';
import { codeIfTotp, WRONG_CODE } from '../../lib/http/mfa-schemas.ts';
import { text, WRONG_PASSWORD } from '../../lib/http/schemas.ts';

/** The body, as functions/api.ts validates it too. */
export const DeleteAccountBody = z.object({ password: text(1024), code: codeIfTotp() }).strict().openapi('DeleteAccountRequest');

const ANSWERS: AnswerTable<Exclude<DeleteAccountOutcome, { kind: 'unauthenticated' }>> = {
  deleted: {
    status: 204,
    description: 'The account, its sessions, devices and registrations and its address\'s throttle rows are gone; a notice was mailed',
    empty: true,
  },
  wrong: WRONG_PASSWORD,
  'wrong-code': WRONG_CODE,
  throttled: EDGE.throttled,
};

const route = bearerPost({
  path: '/delete-account',
  operationId: 'deleteAccount',
  summary: 'Delete the logged-in account',
  description:
    'Asks for the password again (a wrong one counts in the login back-off), and a code when the account has an authenticator. The account, its sessions and devices, ' +
    "the address's registrations and throttle rows are deleted in one batch, a notice is mailed, and the address can register anew.",
  // Password guesses: the login's allowance per client.
  limit: 'login',
  body: DeleteAccountBody,
  answers: ANSWERS,
  edges: ['unavailable', 'busy', 'invalid-fields'],
});

export const deleteAccountEndpoint = createRouter().openapi(route, async function deleteOwnAccount(c) {
  const { db, hasher, sealer, config, now, hooks } = c.get('deps');
  const { password, code } = c.req.valid('json');
  const outcome = await deleteAccount({ db, hasher, sealer, config, mail: mailQueueFor(c), log: c.get('log'), hooks }, presentedOf(c), password, now(), code);
  return respondInFlow(c, ANSWERS, outcome);
});
