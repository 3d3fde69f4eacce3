/**
 * /activate — the link in the activation mail. GET shows a page with one button and changes
 * nothing, because mail scanners and link previews fetch links; only the POST that the button sends
 * (or a JSON client) activates. The answer is HTML for the page's form and JSON for JSON.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { activate, linkState, type ActivationOutcome } from '../lib/activation.ts';
import { accepts, bodyKind, createRouter, limitPerClient, pageResponses, problemResponses, respondProblem, text, withPages, type AppContext } from '../lib/http.ts';
import { activatedPage, confirmPage, expiredLinkPage, invalidLinkPage, type Page } from '../lib/pages.ts';
import { problem } from '../lib/problems.ts';

const TokenBody = z.object({ token: text(128) }).strict().openapi('ActivationRequest');
const Active = z.object({ status: z.literal('active') }).openapi('Active');
const HTML = { 'text/html': { schema: z.string() } };

const page = (c: AppContext, p: Page) => c.html(p.body, p.status);

const showRoute = createRoute({
  method: 'get',
  path: '/activate',
  summary: 'The page behind the activation link (changes nothing)',
  middleware: [limitPerClient('activate')] as const,
  request: { query: z.object({ token: z.string().optional() }) },
  responses: {
    200: { description: 'Confirmation page with one button, or "already active"', content: HTML },
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

function problemFor(outcome: ActivationOutcome) {
  return outcome.kind === 'expired'
    ? problem(410, 'link-expired', 'The activation link has expired', 'Ask for a new link and use it soon.', {
        resend: { method: 'POST', href: '/resend-activation' },
      })
    : problem(400, 'link-invalid', 'The activation link is not valid', 'Use the whole link from the most recent mail, or ask for a new one.');
}

export const activation = createRouter()
  .openapi(showRoute, async (c) => {
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
  .openapi(activateRoute, async (c) => {
    const { db, log, now } = c.var.deps;
    const asPage = bodyKind(c) === 'form';
    const { token } = asPage ? c.req.valid('form') : c.req.valid('json');
    const outcome = await activate(db, token, now());

    if (outcome.kind === 'activated') log('activated', { accountId: outcome.accountId });
    else if (outcome.kind !== 'active') log('activation_refused', { reason: outcome.kind });

    if (asPage) {
      switch (outcome.kind) {
        case 'activated':
        case 'active':
          return page(c, await activatedPage(outcome.email, outcome.kind === 'active'));
        case 'expired':
          return page(c, await expiredLinkPage(outcome.email));
        case 'invalid':
          return page(c, await invalidLinkPage());
      }
    }
    if (outcome.kind === 'activated' || outcome.kind === 'active') return c.json({ status: 'active' as const }, 200);
    return respondProblem(problemFor(outcome));
  });
