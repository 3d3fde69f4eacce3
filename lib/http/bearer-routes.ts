/**
 * The routes that act for a logged-in account, behind `Authorization: Bearer` (lib/http/bearer.ts),
 * with or without a JSON body: one declaration each, as routes.ts does for the public ones.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Endpoint } from '../config/throttle-settings.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import { accepts } from './accept-body.ts';
import { requireSession, requireSessionInFlow } from './bearer.ts';
import { limitPerClient } from './limit-per-client.ts';
import type { PageMode } from './context.ts';
import { offersPages, type AnsweringMiddleware } from './media.ts';
import { responsesOf } from './openapi.ts';
import type { EdgeKind } from './respond.ts';
import { operation, type OperationSpec } from './routes.ts';

interface RouteSpec<P extends string, O extends Outcome, X> extends OperationSpec<P> {
  answers: AnswerTable<O, X>;
  /** Edge answers the flow can lead to besides those of the body and the middleware. */
  edges: readonly EdgeKind[];
  /** Whether the route also answers a person with a page: declared in its middleware (offersPages), where functions/app.ts and the document read it. */
  pages?: PageMode;
}

/** The name of the security scheme that functions/app.ts registers for the document. */
export const BEARER_SCHEME = 'bearer';

const security = [{ [BEARER_SCHEME]: [] }];

function responses<O extends Outcome, X>(spec: RouteSpec<string, O, X>, middleware: AnsweringMiddleware[], body: boolean) {
  return responsesOf(spec.answers, { middleware, edges: [...(body ? (['body-too-large'] as const) : []), ...spec.edges] });
}

/**
 * POST with a JSON body for a logged-in account, each of which checks a password or a code again:
 * it counts against a per-client allowance (`limit`), as a login does, so that a stolen session is
 * no faster a way to guess than the login form. The flow checks the token itself, in its first
 * batch with the window's hit (lib/http/bearer.ts requireSessionInFlow).
 */
export function bearerPost<P extends string, S extends z.ZodType, O extends Outcome, X>(spec: RouteSpec<P, O, X> & { body: S; limit: Endpoint }) {
  const middleware = [...(spec.pages ? [offersPages(spec.pages)] : []), limitPerClient(spec.limit), requireSessionInFlow(), accepts('json')];
  return createRoute({
    method: 'post',
    ...operation({ tag: 'sessions', ...spec }),
    middleware,
    security,
    request: { body: { required: true, content: { 'application/json': { schema: spec.body } } } },
    responses: responses(spec, middleware, true),
  });
}

/**
 * A request without a body for a logged-in account: GET, DELETE, or a POST that says it all in its
 * path. `inFlow`: the flow reads the session in its own batch (requireSessionInFlow), so that what
 * it does costs no trip beyond that read.
 */
export function bearerRoute<P extends string, M extends 'get' | 'post' | 'delete', O extends Outcome, X>(spec: RouteSpec<P, O, X> & { method: M; inFlow?: boolean }) {
  const middleware = [spec.inFlow ? requireSessionInFlow(false) : requireSession()];
  return createRoute({
    method: spec.method,
    ...operation({ tag: 'sessions', ...spec }),
    middleware,
    security,
    responses: responses(spec, middleware, false),
  });
}

/**
 * bearerRoute() with path parameters, validated by their schema. Apart, because a validator costs
 * even with nothing to validate, and GET /session is meant to be cheap.
 */
export function bearerRouteWithParams<P extends string, M extends 'get' | 'post' | 'delete', R extends z.ZodObject, O extends Outcome, X>(
  spec: RouteSpec<P, O, X> & { method: M; params: R; inFlow?: boolean },
) {
  return { ...bearerRoute(spec), request: { params: spec.params } };
}
