/**
 * GET /activate — the page behind the link: asks for the password and changes nothing (mail
 * scanners open links). POST /activate — the link's token and the password in, an active account
 * out (lib/flows/activation.ts). The page's form gets pages back; JSON gets JSON.
 */
import { z } from '@hono/zod-openapi';
import { activate, linkState, type ActivationOutcome, type LinkState, type PasswordRefusal } from '../../lib/flows/activation.ts';
import { json, type Answer, type AnswerTable } from '../../lib/http/answers.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { details, type FieldError } from '../../lib/http/problems.ts';
import { respond, validationDetails } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { formOrJsonPost, linkPage, type LinkPageContext } from '../../lib/http/routes.ts';
import { text } from '../../lib/http/schemas.ts';
import { activatedPage, choosePasswordPage, confirmPage, expiredLinkPage, invalidLinkPage } from '../../lib/pages/pages.ts';

const TokenBody = z
  .object({
    token: text(128),
    password: text(1024).openapi({ description: 'The password chosen at registration, or a new one (then also in confirmPassword)' }),
    confirmPassword: text(1024)
      .optional()
      .openapi({ description: 'The same password again; needed only when it is not the one the link was registered with' }),
  })
  .strict()
  .openapi('ActivationRequest');
const Active = z.object({ status: z.literal('active') }).openapi('Active');

type PageContext = LinkPageContext;

const INVALID_LINK = {
  status: 400,
  description: 'The link is invalid (unknown, tampered with, or replaced by a newer use); the page offers a new one',
  problem: () => details('link-invalid', 'The activation link is not valid', 'Use the whole link from one of our mails, or ask for a new one.'),
  page: invalidLinkPage,
} satisfies Answer<unknown, PageContext>;

const EXPIRED_LINK = {
  status: 410,
  description: 'The link has expired; the page offers a new one',
  problem: () =>
    details('link-expired', 'The activation link has expired', 'Ask for a new link and use it soon.', {
      resend: { method: 'POST', href: '/resend-activation' },
    }),
  page: (o: { email: string }) => expiredLinkPage(o.email),
} satisfies Answer<{ email: string }, PageContext>;

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
  switch (outcome.kind) {
    case 'unconfirmed':
      return [{ pointer: '/confirmPassword', detail: NOT_THIS_REGISTRATION }];
    case 'confirmation-differs':
      return [{ pointer: '/confirmPassword', detail: 'Must be the same as password.' }];
    case 'weak':
      return outcome.problems.map((detail) => ({ pointer: '/password', detail }));
  }
}

/** The same, in the words of the page that asks for the password twice. */
function passwordPageProblems(outcome: PasswordRefusal): string[] {
  switch (outcome.kind) {
    case 'unconfirmed':
      return [];
    case 'confirmation-differs':
      return ['The two passwords are not the same.'];
    case 'weak':
      return outcome.problems;
  }
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

const ACTIVATE_ANSWERS: AnswerTable<ActivationOutcome, PageContext> = {
  activated: ACTIVE,
  active: ACTIVE,
  expired: EXPIRED_LINK,
  invalid: INVALID_LINK,
  unconfirmed: PASSWORD_REFUSED,
  'confirmation-differs': PASSWORD_REFUSED,
  weak: PASSWORD_REFUSED,
};

const showRoute = linkPage({
  path: '/activate',
  summary: 'The page behind the activation link: asks for the password, changes nothing',
  limit: 'activate',
  answers: SHOW_ANSWERS,
});

const activateRoute = formOrJsonPost({
  path: '/activate',
  summary: 'Activate the account that a link belongs to',
  limit: 'activate',
  body: TokenBody,
  answers: ACTIVATE_ANSWERS,
  edges: ['invalid-fields', 'unavailable', 'busy'],
});

export const activateEndpoints = createRouter()
  .openapi(showRoute, async function showActivationPage(c) {
    const { db, config, now } = c.var.deps;
    const token = c.req.valid('query').token ?? '';
    const state = await linkState(db, token, now());
    c.header('Referrer-Policy', 'no-referrer');
    return respond(c, SHOW_ANSWERS, state, { token, minLength: config.passwordPolicy.minLength });
  })
  .openapi(activateRoute, async function activateAccount(c) {
    const { db, hasher, config, now } = c.var.deps;
    const request = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
    const outcome = await activate({ db, hasher, policy: config.passwordPolicy }, request, now());
    if (outcome.kind === 'activated') c.var.log('activated', { accountId: outcome.accountId });
    else if (outcome.kind !== 'active') c.var.log('activation_refused', { reason: outcome.kind });
    return respond(c, ACTIVATE_ANSWERS, outcome, { token: request.token, minLength: config.passwordPolicy.minLength });
  });
