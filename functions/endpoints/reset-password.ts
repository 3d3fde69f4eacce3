/**
 * GET /reset-password — the page behind a reset link: names the address and asks for the new
 * password twice; changes nothing (mail scanners open links). POST /reset-password — the link's
 * token and the new password in, the changed password out (lib/flows/reset-password.ts). The
 * page's form gets pages back; JSON gets JSON.
 */
import { z } from '@hono/zod-openapi';
import { resetLinkState, resetPassword, type ResetLinkState, type ResetOutcome } from '../../lib/flows/reset-password.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import { json, type Answer, type AnswerTable } from '../../lib/http/answers.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { linkRefusals, newPasswordErrors, newPasswordPageProblems, type NewPasswordRefusal } from '../../lib/http/link-answers.ts';
import { respond, respondEdge, validationDetails } from '../../lib/http/respond.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import type { Throttled } from '../../lib/flows/admission.ts';
import { jsonOrFormPost, linkPageRouter, openapiRequiringBody, type LinkPageContext } from '../../lib/http/routes.ts';
import { text } from '../../lib/http/schemas.ts';
import { expiredResetLinkPage, invalidResetLinkPage, passwordChangedPage, resetPasswordPage } from '../../lib/pages/reset-pages.ts';

/** The body, as functions/api.ts validates it too. */
export const ResetBody = z
  .object({
    token: text(128),
    password: text(1024).openapi({ description: 'The new password; the registration policy applies' }),
    confirmPassword: text(1024).optional().openapi({ description: 'The same password again (the page sends it); when present it must match' }),
  })
  .strict()
  .openapi('ResetRequest');
const Changed = z.object({ status: z.literal('changed') }).openapi('PasswordChanged');

type PageContext = LinkPageContext;

const { invalid: INVALID_LINK, expired: EXPIRED_LINK } = linkRefusals({
  slug: 'reset-link',
  name: 'reset link',
  invalidDescription: 'The reset link is unknown, tampered with or already used (the same answer); the page offers a new one',
  invalidDetail: 'Use the whole link from our latest mail; each link works once. Or ask for a new one.',
  renewPath: '/forgot-password',
  invalidPage: invalidResetLinkPage,
  expiredPage: expiredResetLinkPage,
});

const SHOW_ANSWERS: AnswerTable<ResetLinkState, PageContext> = {
  usable: {
    status: 200,
    description: 'The page naming the address and asking for the new password twice',
    page: (o, { token, minLength }) => resetPasswordPage(o.email, token, [], minLength),
  },
  expired: EXPIRED_LINK,
  invalid: INVALID_LINK,
};

const PASSWORD_REFUSED = {
  status: 422,
  description: 'The new password is refused by the policy, or the two typings differ; `errors` names the field. The link still works',
  problem: (o: NewPasswordRefusal) => validationDetails(newPasswordErrors(o)),
  page: (o: NewPasswordRefusal, { token, minLength }: PageContext) => resetPasswordPage(o.email, token, newPasswordPageProblems(o), minLength),
} satisfies Answer<NewPasswordRefusal, PageContext>;

// A refused client is the window's 429 (respondEdge), as the route's other edges are.
const RESET_ANSWERS: AnswerTable<Exclude<ResetOutcome, Throttled>, PageContext> = {
  changed: {
    status: 200,
    description:
      'The password is changed; the old one, every other reset link and every session of the account no longer work. ' +
      'Nobody is logged in',
    json: json(Changed, () => ({ status: 'changed' as const })),
    page: (o) => passwordChangedPage(o.email),
  },
  expired: EXPIRED_LINK,
  invalid: INVALID_LINK,
  weak: PASSWORD_REFUSED,
  'confirmation-differs': PASSWORD_REFUSED,
};

const showing = linkPageRouter(
  {
    path: '/reset-password',
    operationId: 'showResetPage',
    summary: 'The page behind a password reset link: asks for the new password, changes nothing',
    description: 'For the person who clicked the link in the mail. It changes nothing (mail scanners open links); its form posts to POST /reset-password.',
    limit: 'reset',
    answers: SHOW_ANSWERS,
  },
  resetLinkState,
);

const resetRoute = jsonOrFormPost({
  path: '/reset-password',
  operationId: 'resetPassword',
  summary: 'Choose a new password with the token of a reset link',
  description:
    "The reset link's token and a new password that passes the policy change the account's password, retire the " +
    "account's other reset links, end every session of the account and clear its failed-login back-off. It does not " +
    'log anyone in. The link works once.',
  limit: 'reset',
  body: ResetBody,
  answers: RESET_ANSWERS,
  edges: ['invalid-fields', 'unavailable', 'busy'],
});

export const resetPasswordEndpoints = openapiRequiringBody(showing, resetRoute, async function resetForgottenPassword(c) {
  const { db, hasher, config, now, hooks, breachedPasswords } = c.get('deps');
  const request = { ...(bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json')), admission: admissionOf(c) };
  const services = { db, hasher, breachedPasswords, policy: config.passwordPolicy, mail: mailQueueFor(c), log: c.get('log'), hooks };
  const outcome = await resetPassword(services, request, now());
  if (outcome.kind === 'throttled') return respondEdge(c, outcome);
  return respond(c, RESET_ANSWERS, outcome, { token: request.token, minLength: config.passwordPolicy.minLength });
});
