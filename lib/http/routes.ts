/**
 * The shapes most endpoints have: POST with a JSON body (or JSON and the page's form), counted
 * against the client's allowance for the endpoint, answered from the flow's table. One
 * declaration, so that a new flow's route is its path, its body schema and its answers, and its
 * OpenAPI entry (operationId, tag, description, responses, a required body) comes with it.
 */
import { createRoute, z, type RouteConfig, type RouteHandler } from '@hono/zod-openapi';
import type { Endpoint } from '../config/throttle-settings.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import type { AppEnv } from './context.ts';
import { limitPerClient } from './limit-per-client.ts';
import { botCheck } from './turnstile.ts';
import { accepts } from './accept-body.ts';
import { offersPages } from './media.ts';
import { responsesOf, type Tag } from './openapi.ts';
import type { EdgeKind } from './respond.ts';
import { createRouter } from './router.ts';
import { respond, respondEdge } from './respond.ts';
import type { Database } from '../storage/db.ts';
import type { EventLog } from '../log.ts';
import type { Admission } from '../storage/throttle.ts';
import type { Throttled } from '../flows/admission.ts';
import { admissionOf } from './limit-per-client.ts';

/** What the document says of an operation besides its request and answers. */
export interface OperationSpec<P extends string> {
  path: P;
  /** The name a generated client calls the operation by. */
  operationId: string;
  summary: string;
  /** What a client developer needs to know beyond the summary and the answers. */
  description: string;
  /** The document's tag (lib/http/openapi.ts, TAGS); `accounts` when not given. */
  tag?: Tag;
}

interface PostSpec<P extends string, S extends z.ZodType, O extends Outcome, X> extends OperationSpec<P> {
  /** Whose per-client allowance the request counts against. */
  limit: Endpoint;
  body: S;
  answers: AnswerTable<O, X>;
  /** Edge answers the flow can lead to besides those of the body and the allowance. */
  edges: readonly EdgeKind[];
  /** Whether the Turnstile check (lib/http/turnstile.ts) guards it, before everything else, when configured. */
  botCheck?: boolean;
}

const guarded = (spec: { botCheck?: boolean }) => (spec.botCheck ? [botCheck()] : []);

export interface JsonPostSpec<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X> extends PostSpec<P, S, O, X> {
  /** Request headers the endpoint reads, for the document, if it reads any. */
  headers?: H;
}

export const operation = <P extends string>(spec: OperationSpec<P>) => ({
  path: spec.path,
  operationId: spec.operationId,
  summary: spec.summary,
  description: spec.description,
  tags: [spec.tag ?? 'accounts'],
});

export function jsonPost<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X>(spec: JsonPostSpec<P, S, H, O, X>) {
  const middleware = [...guarded(spec), limitPerClient(spec.limit), accepts('json')];
  return createRoute({
    method: 'post',
    ...operation(spec),
    middleware,
    request: {
      ...(spec.headers && { headers: spec.headers }),
      body: { required: true, content: { 'application/json': { schema: spec.body } } },
    },
    responses: responsesOf(spec.answers, { middleware, edges: ['body-too-large', ...spec.edges] }),
  });
}

const PAGES_RULE =
  ' The same operation serves the form on our pages: a form-encoded body, or an Accept header that prefers ' +
  'text/html, gets a page (text/html) instead of JSON. A JSON client gets only application/json and ' +
  'application/problem+json.';

/**
 * A POST that takes JSON from clients and the form of one of our pages from browsers, answering
 * each in kind. Mount it with `openapiRequiringBody()`.
 */
export function jsonOrFormPost<P extends string, S extends z.ZodType, O extends Outcome, X>(spec: PostSpec<P, S, O, X>) {
  const middleware = [offersPages('negotiated'), ...guarded(spec), limitPerClient(spec.limit), accepts('json', 'form')];
  return createRoute({
    method: 'post',
    ...operation(spec),
    description: spec.description + PAGES_RULE,
    middleware,
    request: {
      body: {
        // Not `required` here: see openapiRequiringBody().
        content: { 'application/json': { schema: spec.body }, 'application/x-www-form-urlencoded': { schema: spec.body } },
      },
    },
    responses: responsesOf(spec.answers, { middleware, edges: ['body-too-large', ...spec.edges] }),
  });
}

type Router = ReturnType<typeof createRouter>;

/**
 * Mounts a route whose body may come as one of several media types, and documents the body as
 * required. @hono/zod-openapi validates a `required` body as every listed media type at once, so
 * the route runs with the body optional (validated as the type that was sent) and the document
 * gets a copy that says `required: true`, which is what the server does: a request without a
 * body has no media type, and `accepts()` answers it 415 before anything else reads it.
 */
export function openapiRequiringBody<R extends RouteConfig>(router: Router, route: R, handler: RouteHandler<R, AppEnv>): Router {
  const { middleware: _middleware, hide: _hide, ...documented } = route;
  const body = documented.request?.body;
  if (!body) throw new Error(`${route.method.toUpperCase()} ${route.path} has no body to require`);
  router.openAPIRegistry.registerPath({ ...documented, request: { ...documented.request, body: { ...body, required: true } } });
  return router.openapi({ ...route, hide: true }, handler);
}

/** What the pages of a mailed link need that only the request knows: the token, the password rule. */
export interface LinkPageContext {
  token: string;
  minLength: number;
}

interface LinkPageSpec<P extends string, O extends Outcome, X> extends Omit<OperationSpec<P>, 'tag'> {
  /** Whose per-client allowance the request counts against: the endpoint its form posts to. */
  limit: Endpoint;
  answers: AnswerTable<O, X>;
}

/**
 * GET of the page behind a mailed link (`?token=…`): always a page, counted against the client's
 * allowance for the endpoint the page's form posts to.
 */
function linkPage<P extends string, O extends Outcome, X>(spec: LinkPageSpec<P, O, X>) {
  const middleware = [offersPages('always'), limitPerClient(spec.limit)];
  return createRoute({
    method: 'get',
    ...operation({ ...spec, tag: 'pages' }),
    middleware,
    request: { query: z.object({ token: z.string().optional().openapi({ description: 'The token from the link in the mail' }) }) },
    responses: responsesOf(spec.answers, { middleware, edges: ['invalid-fields', 'unavailable'] }),
  });
}

// The shared headers say no-referrer too; a link page says it itself, so that its token stays out
// of any Referer whatever the shared list becomes.
const NO_REFERRER = { 'Referrer-Policy': 'no-referrer' };

/**
 * The page behind a mailed link, mounted: it looks the token up with `stateOf`, changes nothing
 * (mail scanners open links), keeps the token out of any Referer, and answers from `answers`.
 * `stateOf` takes the request's hit on the client's window into its one read's batch (one round
 * trip), and answers `throttled` when the window refused it.
 */
export function linkPageRouter<P extends string, O extends Outcome>(
  spec: LinkPageSpec<P, O, LinkPageContext>,
  stateOf: (services: { db: Database; log: EventLog }, token: string, now: number, admission: Admission | null) => Promise<O | Throttled>,
): Router {
  return createRouter().openapi(linkPage(spec), async function showLinkPage(c) {
    const { db, config, now } = c.get('deps');
    const token = c.req.valid('query').token ?? '';
    const state = await stateOf({ db, log: c.get('log') }, token, now(), admissionOf(c));
    c.set('headers', NO_REFERRER);
    if (state.kind === 'throttled') return respondEdge(c, state as Throttled);
    return respond(c, spec.answers, state as O, { token, minLength: config.passwordPolicy.minLength });
  });
}
