/**
 * GET /activate — the page behind the link: asks for the password and changes nothing (mail
 * scanners open links). POST /activate — the link's token and the password in, an active account
 * out (lib/flows/activation.ts). The page's form gets pages back; JSON gets JSON.
 */
import { z } from '@hono/zod-openapi';
import { activate, linkState, type ActivationOutcome, type LinkState, type PasswordRefusal } from '../../lib/flows/activation.ts';
import { json, type Answer, type AnswerTable } from '../../lib/http/answers.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { linkRefusals, newPasswordErrors, newPasswordPageProblems } from '../../lib/http/link-answers.ts';
import type { FieldError } from '../../lib/http/problems.ts';
import { respond, respondEdge, validationDetails } from '../../lib/http/respond.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import type { Throttled } from '../../lib/flows/admission.ts';
import { jsonOrFormPost, linkPageRouter, openapiRequiringBody, type LinkPageContext } from '../../lib/http/routes.ts';
import { text } from '../../lib/http/schemas.ts';
import { activatedPage, choosePasswordPage, confirmPage, expiredLinkPage, invalidLinkPage } from '../../lib/pages/pages.ts';

/** The body, as functions/api.ts validates it too. */
export const TokenBody = z
  .object({
    token: text(128),
    password: text(1024).openapi({
      description:
        'The password chosen at registration, or a new one (then also in confirmPassword), which must then meet the ' +
        'password rules of RegisterRequest',
    }),
    confirmPassword: text(1024)
      .optional()
      .openapi({ description: 'The same password again; needed only when it is not the one the link was registered with' }),
  })
  .strict()
  .openapi('ActivationRequest');
const Active = z.object({ status: z.literal('active') }).openapi('Active');

type PageContext = LinkPageContext;

const { invalid: INVALID_LINK, expired: EXPIRED_LINK } = linkRefusals({
  slug: 'link',
  name: 'activation link',
  invalidDescription: 'The link is invalid (unknown, tampered with, or replaced by a newer use); the page offers a new one',
  invalidDetail: 'Use the whole link from one of our mails, or ask for a new one.',
  renewPath: '/resend-activation',
  invalidPage: invalidLinkPage,
  expiredPage: expiredLinkPage,
});

const SHOW_ANSWERS: AnswerTable<LinkState, PageContext> = {
  pending: {
    status: 200,
    description: 'The page asking for the password',
    page: (o, { token }) => confirmPage(o.email, token),
  },
  active: {
    status: 200,
    description: 'The page saying the account is already active',
    page: (o) => activatedPage(o.email, true),
  },
  expired: EXPIRED_LINK,
  invalid: INVALID_LINK,
};

const NOT_THIS_REGISTRATION =
  "This is not the password this link was registered with. To make it the account's password, send it again in confirmPassword.";

/** What the person must fix about the password, as field errors for JSON clients. */
function passwordErrors(outcome: PasswordRefusal): FieldError[] {
  if (outcome.kind === 'unconfirmed') return [{ pointer: '/confirmPassword', detail: NOT_THIS_REGISTRATION }];
  return newPasswordErrors(outcome);
}

/** The same, in the words of the page that asks for the password twice (which says nothing more when unconfirmed). */
function passwordPageProblems(outcome: PasswordRefusal): string[] {
  return outcome.kind === 'unconfirmed' ? [] : newPasswordPageProblems(outcome);
}

const PASSWORD_REFUSED = {
  status: 422,
  description: 'The password is not this registration\'s and was not confirmed, the two differ, or the policy refuses it; `errors` names the field',
  problem: (o: PasswordRefusal) => validationDetails(passwordErrors(o)),
  page: (o: PasswordRefusal, { token, minLength }: PageContext) => choosePasswordPage(o.email, token, passwordPageProblems(o), minLength),
} satisfies Answer<PasswordRefusal, PageContext>;

const ACTIVE = {
  status: 200,
  description: 'The account is active (now, or already: a second use of the link is a success)',
  json: json(Active, () => ({ status: 'active' as const })),
  page: (o: { kind: string; email: string }) => activatedPage(o.email, o.kind === 'active'),
} satisfies Answer<{ kind: string; email: string }, PageContext>;

// A refused client is the window's 429 (respondEdge), as the route's other edges are.
const ACTIVATE_ANSWERS: AnswerTable<Exclude<ActivationOutcome, Throttled>, PageContext> = {
  activated: ACTIVE,
  active: ACTIVE,
  expired: EXPIRED_LINK,
  invalid: INVALID_LINK,
  unconfirmed: PASSWORD_REFUSED,
  'confirmation-differs': PASSWORD_REFUSED,
  weak: PASSWORD_REFUSED,
};

const showing = linkPageRouter(
  {
    path: '/activate',
    operationId: 'showActivationPage',
    summary: 'The page behind the activation link: asks for the password, changes nothing',
    description: 'For the person who clicked the link in the mail. It changes nothing (mail scanners open links); its form posts to POST /activate.',
    limit: 'activate',
    answers: SHOW_ANSWERS,
  },
  linkState,
);

const activateRoute = jsonOrFormPost({
  path: '/activate',
  operationId: 'activate',
  summary: 'Activate the account that a link belongs to',
  description:
    "The link's token and the password registered with it make the account active; a different password is taken " +
    'only when confirmPassword repeats it. Using a link again for an active account is a success.',
  limit: 'activate',
  body: TokenBody,
  answers: ACTIVATE_ANSWERS,
  edges: ['invalid-fields', 'unavailable', 'busy'],
});

export const activateEndpoints = openapiRequiringBody(showing, activateRoute, async function activateAccount(c) {
  const { db, hasher, config, now, hooks, breachedPasswords } = c.get('deps');
  const request = { ...(bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json')), admission: admissionOf(c) };
  const outcome = await activate({ db, hasher, breachedPasswords, policy: config.passwordPolicy, log: c.get('log'), hooks }, request, now());
  if (outcome.kind === 'throttled') return respondEdge(c, outcome);
  return respond(c, ACTIVATE_ANSWERS, outcome, { token: request.token, minLength: config.passwordPolicy.minLength });
});
