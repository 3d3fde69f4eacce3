/**
 * POST /change-password — the current password and a new one, for a logged-in account
 * (lib/flows/change-password.ts). Every other session of the account ends.
 */
import { z } from '@hono/zod-openapi';
import { changePassword, type ChangePasswordOutcome } from '../../lib/flows/change-password.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { EDGE, INVALID_FIELDS } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { bearerPost } from '../../lib/http/bearer-routes.ts';
import { codeIfTotp, WRONG_CODE } from '../../lib/http/mfa-schemas.ts';
import { text, WRONG_PASSWORD } from '../../lib/http/schemas.ts';

/** The body, as functions/api.ts validates it too. */
export const ChangePasswordBody = z
  .object({ currentPassword: text(1024), newPassword: text(1024).openapi({ example: 'purple elephants dance at noon' }), code: codeIfTotp() })
  .strict()
  .openapi('ChangePasswordRequest');

const ANSWERS: AnswerTable<Exclude<ChangePasswordOutcome, { kind: 'unauthenticated' }>> = {
  changed: {
    status: 200,
    description: 'The password is changed; every other session of the account has ended, and a notice was mailed',
    json: json(z.object({ status: z.literal('changed'), sessionsEnded: z.number().int().min(0) }), (o: Extract<ChangePasswordOutcome, { kind: 'changed' }>) => ({
      status: 'changed' as const,
      sessionsEnded: o.sessionsEnded,
    })),
  },
  wrong: WRONG_PASSWORD,
  'wrong-code': WRONG_CODE,
  throttled: EDGE.throttled,
  invalid: INVALID_FIELDS,
};

const route = bearerPost({
  path: '/change-password',
  operationId: 'changePassword',
  summary: 'Change the password of the logged-in account',
  description:
    'Asks for the current password again (a wrong one counts in the login back-off), and a code when the account has an authenticator, applies the password policy to ' +
    'the new one, ends every other session of the account and mails a notice. The session that asked stays.',
  // Password guesses: the login's allowance per client.
  limit: 'login',
  body: ChangePasswordBody,
  answers: ANSWERS,
  edges: ['unavailable', 'busy'],
});

export const changePasswordEndpoint = createRouter().openapi(route, async function changeOwnPassword(c) {
  const { db, hasher, sealer, config, now, hooks, breachedPasswords } = c.get('deps');
  const { currentPassword, newPassword, code } = c.req.valid('json');
  const services = { db, hasher, sealer, breachedPasswords, config, mail: mailQueueFor(c), log: c.get('log'), hooks };
  const outcome = await changePassword(services, { bearer: presentedOf(c), currentPassword, newPassword, code }, now());
  return respondInFlow(c, ANSWERS, outcome);
});
