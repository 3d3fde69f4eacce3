/**
 * /activate — the link in the activation mail. GET shows a page that asks for the account's
 * password and changes nothing, because mail scanners and link previews fetch links; only the POST
 * that the page's form sends (or a JSON client) activates, and only with a password the person
 * holding the link typed (lib/flows/activation.ts). The answer is HTML for the page's form and JSON for JSON.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { activate, linkState, type ActivationOutcome, type PasswordRefusal } from '../../lib/flows/activation.ts';
import { accepts, bodyKind, createRouter, limitPerClient, pageResponses, problemResponses, respondProblem, text, withPages, type AppContext } from '../../lib/http.ts';
import { activatedPage, choosePasswordPage, confirmPage, expiredLinkPage, invalidLinkPage, type Page } from '../../lib/pages/pages.ts';
import { problem, validationProblem, type FieldError } from '../../lib/http/problems.ts';

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
const HTML = { 'text/html': { schema: z.string() } };

const page = (c: AppContext, p: Page) => c.html(p.body, p.status);

const showRoute = createRoute({
  method: 'get',
  path: '/activate',
  summary: 'The page behind the activation link: asks for the password, changes nothing',
  middleware: [limitPerClient('activate')] as const,
  request: { query: z.object({ token: z.string().optional() }) },
  responses: {
    200: { description: 'The page asking for the password, or "already active"', content: HTML },
    400: { description: 'The link is invalid; the page offers a new one', content: HTML },
    410: { description: 'The link has expired; the page offers a new one', content: HTML },
    ...pageResponses(429, 500, 503),
  },
});

const activateRoute = createRoute({
  method: 'post',
  path: '/activate',
  summary: 'Activate the account that a link belongs to',
  middleware: [limitPerClient('activate'), accepts('json', 'form')] as const,
  request: {
    body: {
      // Not `required: true`: @hono/zod-openapi would then validate the body as every listed media
      // type at once. A missing body is still refused, by the 415 or 422 documented below.
      content: {
        'application/json': { schema: TokenBody },
        'application/x-www-form-urlencoded': { schema: TokenBody },
      },
    },
  },
  responses: {
    200: {
      description: 'The account is active (now, or already: a second use of the link is a success). JSON for JSON, a page for the page\'s form',
      content: { 'application/json': { schema: Active }, ...HTML },
    },
    // The page's form gets pages for what a person can meet; JSON clients get problem details.
    ...withPages(problemResponses(400, 410, 413, 415, 422, 429, 503), 400, 410, 422, 429, 500, 503),
  },
});

const NOT_THIS_REGISTRATION =
  'This is not the password this link was registered with. To make it the account\'s password, send it again in confirmPassword.';

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


function problemFor(outcome: Extract<ActivationOutcome, { kind: 'expired' | 'invalid' }>) {
  return outcome.kind === 'expired'
    ? problem(410, 'link-expired', 'The activation link has expired', 'Ask for a new link and use it soon.', {
        resend: { method: 'POST', href: '/resend-activation' },
      })
    : problem(400, 'link-invalid', 'The activation link is not valid', 'Use the whole link from one of our mails, or ask for a new one.');
}

export const activation = createRouter()
  .openapi(showRoute, async function showActivationPage(c) {
    const { db, now } = c.var.deps;
    const state = await linkState(db, c.req.valid('query').token, now());
    c.header('Referrer-Policy', 'no-referrer');
    switch (state.kind) {
      case 'pending':
        return page(c, await confirmPage(state.email, c.req.valid('query').token!));
      case 'active':
        return page(c, await activatedPage(state.email, true));
      case 'expired':
        return page(c, await expiredLinkPage(state.email));
      case 'invalid':
        return page(c, await invalidLinkPage());
    }
  })
  .openapi(activateRoute, async function activateAccount(c) {
    const { db, hasher, config, log, now } = c.var.deps;
    const asPage = bodyKind(c) === 'form';
    const request = asPage ? c.req.valid('form') : c.req.valid('json');
    const outcome = await activate({ db, hasher, policy: config.passwordPolicy }, request, now());

    if (outcome.kind === 'activated') log('activated', { accountId: outcome.accountId });
    else if (outcome.kind !== 'active') log('activation_refused', { reason: outcome.kind });

    switch (outcome.kind) {
      case 'activated':
      case 'active':
        return asPage ? page(c, await activatedPage(outcome.email, outcome.kind === 'active')) : c.json({ status: 'active' as const }, 200);
      case 'expired':
        return asPage ? page(c, await expiredLinkPage(outcome.email)) : respondProblem(problemFor(outcome));
      case 'invalid':
        return asPage ? page(c, await invalidLinkPage()) : respondProblem(problemFor(outcome));
      default:
        return asPage
          ? page(c, await choosePasswordPage(outcome.email, request.token, passwordPageProblems(outcome), config.passwordPolicy.minLength))
          : respondProblem(validationProblem(passwordErrors(outcome)));
    }
  });
