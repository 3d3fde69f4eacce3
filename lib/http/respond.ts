/**
 * The one responder: an outcome and its table entry become problem+json, JSON or a page, and the
 * answers that every route shares (the edge: bodies, limits, failures) are one more table here.
 */
import { errorPage, formErrorPage, PAGE_CSP, tooManyRequestsPage, unavailablePage, type Page } from '../pages/pages.ts';
import { allowingTurnstile, BOT_CHECK_SLOT, fillBotCheckSlots } from '../pages/bot-check-widget.ts';
import { answerFor, type AnswerHeaders, type AnswerTable, type AnswerWithBody, type HeaderName, type Outcome } from './answers.ts';
import type { AppContext } from './context.ts';
import type { EdgeOutcome } from './edge-outcomes.ts';
import { wantsPage } from './media.ts';
import { details, problemResponse, type FieldError, type ProblemDetails } from './problems.ts';
import { responseWith } from './security-headers.ts';

export const MAX_BODY_BYTES = 16 * 1024;
const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
// The hash queue drains in about a second at any sensible queue length and scrypt cost.
const BUSY_RETRY_AFTER_SECONDS = 1;

export type { EdgeKind, EdgeOutcome } from './edge-outcomes.ts';


export const validationDetails = (errors: FieldError[]) =>
  details('validation', 'The request has invalid fields', 'Correct the fields named in errors and try again.', { errors });

export const INVALID_FIELDS: AnswerWithBody<{ errors: FieldError[] }, unknown> = {
  status: 422,
  description: 'A field is missing or invalid; `errors` names each one',
  problem: ({ errors }: { errors: FieldError[] }) => validationDetails(errors),
  page: ({ errors }: { errors: FieldError[] }) => formErrorPage(errors),
};

/** A 503: nothing was done, and the client may try again after `seconds`. */
function retryLater(description: string, problem: ProblemDetails, seconds: number): AnswerWithBody<unknown> {
  return { status: 503, description, problem: () => problem, page: unavailablePage, headers: { 'Retry-After': () => String(seconds) } };
}

export const EDGE: AnswerTable<EdgeOutcome> = {
  'malformed-body': {
    status: 400,
    description: 'The body could not be read: not valid JSON, not UTF-8, or cut off',
    problem: (o) => details('malformed-body', 'The request body could not be parsed', o.detail),
    page: (o) => formErrorPage([{ pointer: '', detail: o.detail }]),
  },
  'body-too-large': {
    status: 413,
    description: `The body is larger than ${MAX_BODY_BYTES / 1024} KiB`,
    problem: () => details('body-too-large', 'Request body too large', `Bodies may be at most ${MAX_BODY_BYTES} bytes.`),
  },
  'unsupported-media-type': {
    status: 415,
    description: 'The body is not of a media type this endpoint takes; Accept lists them',
    problem: (o) => details('unsupported-media-type', 'Unsupported media type', `Send the body as ${o.accepted.join(' or ')}.`),
    headers: { Accept: (o) => o.accepted.join(', ') },
  },
  'invalid-fields': INVALID_FIELDS,
  throttled: {
    status: 429,
    description: 'Too many requests; see Retry-After',
    problem: (o) =>
      details('too-many-requests', 'Too many requests', `Wait ${o.retryAfterSeconds} seconds before trying again.`, {
        retryAfter: o.retryAfterSeconds,
      }),
    page: (o) => tooManyRequestsPage(o.retryAfterSeconds),
    headers: { 'Retry-After': (o) => String(o.retryAfterSeconds) },
  },
  'not-found': {
    status: 404,
    description: 'No endpoint answers at this path',
    problem: () => details('not-found', 'Not found', 'No endpoint answers at this path.'),
  },
  'method-not-allowed': {
    status: 405,
    description: 'This path does not take this method; Allow lists the ones it takes',
    problem: (o) => details('method-not-allowed', 'Method not allowed', `This path takes ${o.allowed.join(', ')}.`),
    headers: { Allow: (o) => o.allowed.join(', ') },
  },
  // RFC 6750: one answer for a missing, malformed, unknown, expired or ended token.
  unauthenticated: {
    status: 401,
    description: 'No live session: the bearer token is missing, malformed, unknown, expired or ended',
    problem: () => details('unauthenticated', 'Not logged in', 'Log in again to get a new session token, and send it as "Authorization: Bearer <token>".'),
    headers: { 'WWW-Authenticate': () => 'Bearer realm="latchkey"' },
  },
  // The bot check (lib/http/turnstile.ts): 403, not 422, because nothing in the body is wrong that
  // the person could correct; the widget must be solved again.
  'bot-check-refused': {
    status: 403,
    description: 'The Turnstile token was refused (invalid, expired or already used); nothing was done',
    problem: () => details('bot-check-refused', 'The bot check failed', 'Complete the check on the page again and resend with its new token.'),
    page: () => formErrorPage([{ pointer: '', detail: 'The check that you are not a bot failed or expired. Go back, complete it again and resend.' }]),
  },
  'bot-check-unavailable': retryLater(
    'The bot check could not be verified (Cloudflare did not answer); nothing was done; see Retry-After',
    details('bot-check-unavailable', 'Temporarily unavailable', 'The check that you are not a bot could not be verified. Nothing was done. Try again shortly.'),
    UNAVAILABLE_RETRY_AFTER_SECONDS,
  ),
  unavailable: retryLater(
    'The database is unavailable; nothing was changed; see Retry-After',
    details('unavailable', 'Temporarily unavailable', 'Nothing was changed. Try again shortly.'),
    UNAVAILABLE_RETRY_AFTER_SECONDS,
  ),
  busy: retryLater(
    'Too many password hashes in flight; nothing was changed; see Retry-After',
    details('busy', 'Too busy right now', 'Too many sign-ins at once. Nothing was changed. Try again in a moment.'),
    BUSY_RETRY_AFTER_SECONDS,
  ),
  internal: {
    status: 500,
    description: 'Internal error (nothing about it is disclosed)',
    problem: () => details('internal', 'Internal error', 'Something went wrong on our side.'),
    page: errorPage,
  },
};

function headerValues<O>(headers: AnswerHeaders<O>, outcome: O): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers) as [HeaderName, (o: O) => string][]) values[name] = value(outcome);
  return values;
}

/**
 * The answer to `outcome` from `table`: the entry's page when the client wants one and the entry
 * has one, otherwise its JSON or problem+json. `extra` is what only the request knows and a page
 * needs (the token of the link it is for, say).
 */
export async function respond<O extends Outcome, X>(c: AppContext, table: AnswerTable<O, X>, outcome: O, extra: X): Promise<Response> {
  const entry = answerFor(table, outcome);
  const headers = { ...c.get('headers'), ...(entry.headers && headerValues(entry.headers, outcome)) };
  if ('empty' in entry) return responseWith(null, entry.status, headers);
  if (entry.page && wantsPage(c)) return pageResponse(c, await entry.page(outcome, extra), entry.status, headers);
  if ('json' in entry) return responseWith(JSON.stringify(entry.json.body(outcome)), entry.status, { 'Content-Type': JSON_TYPE, ...headers });
  if (!('problem' in entry)) return pageResponse(c, await entry.page(outcome, extra), entry.status, headers);
  return problemResponse({ ...entry.problem(outcome), status: entry.status }, headers);
}

/**
 * A page, with the bot check's widget in the forms that post to a checked endpoint when a site key
 * is set (lib/pages/bot-check-widget.ts), and only then a policy that lets Cloudflare's script in.
 */
function pageResponse(c: AppContext, page: Page, status: number, headers: Record<string, string>): Response {
  // Only a page with a slot reads the configuration: the failure pages must render whatever it is.
  if (!page.body.includes(BOT_CHECK_SLOT)) return responseWith(page.body, status, { 'Content-Type': HTML, ...headers });
  const siteKey = c.get('deps').config.turnstile?.siteKey;
  const body = fillBotCheckSlots(page.body, siteKey);
  const csp: Record<string, string> = siteKey === undefined ? {} : { 'Content-Security-Policy': allowingTurnstile(headers['Content-Security-Policy'] ?? PAGE_CSP) };
  return responseWith(body, status, { 'Content-Type': HTML, ...headers, ...csp });
}

// What Hono's c.html() and c.json() would send.
const HTML = 'text/html; charset=UTF-8';
const JSON_TYPE = 'application/json';

/** An answer from the edge table: for middleware, the validation hook and the error handler. */
export const respondEdge = (c: AppContext, outcome: EdgeOutcome) => respond(c, EDGE, outcome, undefined);

/**
 * An edge answer where Latchkey's app is not the one answering (a host's route behind
 * requireSession: lib/http/host-session.ts): the same problem+json and headers, never a page.
 */
export function edgeProblem(outcome: EdgeOutcome): Response {
  const entry = answerFor(EDGE, outcome);
  if (!('problem' in entry)) throw new Error(`edge answer ${outcome.kind} has no problem`);
  return problemResponse({ ...entry.problem(outcome), status: entry.status }, entry.headers && headerValues(entry.headers, outcome));
}
