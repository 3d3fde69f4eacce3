/**
 * The shapes endpoints have, each one declaration: a path, a body schema where there is a body,
 * and the answer table. `jsonPost()`: POST with a JSON body, counted against the client's allowance
 * for the endpoint. `bearerPost()` and `bearerRoute()`: the routes that act for a logged-in account,
 * behind `Authorization: Bearer` (lib/http/bearer.ts), with or without a JSON body.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Endpoint } from '../storage/throttle.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import { requireSession } from './bearer.ts';
import { limitPerClient } from './limit-per-client.ts';
import { accepts, type AnsweringMiddleware } from './media.ts';
import { responsesOf } from './openapi.ts';
import type { EdgeKind } from './respond.ts';

interface RouteSpec<P extends string, O extends Outcome, X> {
  path: P;
  summary: string;
  answers: AnswerTable<O, X>;
  /** Edge answers the flow can lead to besides those of the body and the middleware. */
  edges: readonly EdgeKind[];
}

interface WithBody<S extends z.ZodType> {
  body: S;
}

export interface JsonPostSpec<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X>
  extends RouteSpec<P, O, X>,
    WithBody<S> {
  /** Whose per-client allowance the request counts against. */
  limit: Endpoint;
  /** Request headers the endpoint reads, for the document. */
  headers: H;
}

/** The name of the security scheme that functions/app.ts registers for the document. */
export const BEARER_SCHEME = 'bearer';

const jsonBody = <S extends z.ZodType>(schema: S) => ({ required: true, content: { 'application/json': { schema } } });

function responses<O extends Outcome, X>(spec: RouteSpec<string, O, X>, middleware: AnsweringMiddleware[], body: boolean) {
  return responsesOf(spec.answers, { middleware, edges: [...(body ? (['body-too-large'] as const) : []), ...spec.edges] });
}

export function jsonPost<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X>(spec: JsonPostSpec<P, S, H, O, X>) {
  const middleware = [limitPerClient(spec.limit), accepts('json')];
  return createRoute({
    method: 'post',
    path: spec.path,
    summary: spec.summary,
    middleware,
    request: { headers: spec.headers, body: jsonBody(spec.body) },
    responses: responses(spec, middleware, true),
  });
}

/** POST with a JSON body for a logged-in account. */
export function bearerPost<P extends string, S extends z.ZodType, O extends Outcome, X>(spec: RouteSpec<P, O, X> & WithBody<S>) {
  const middleware = [requireSession(), accepts('json')];
  return createRoute({
    method: 'post',
    path: spec.path,
    summary: spec.summary,
    middleware,
    security: [{ [BEARER_SCHEME]: [] }],
    request: { body: jsonBody(spec.body) },
    responses: responses(spec, middleware, true),
  });
}

/** A request without a body for a logged-in account: GET, DELETE, or a POST that says it all in its path. */
export function bearerRoute<P extends string, M extends 'get' | 'post' | 'delete', O extends Outcome, X>(spec: RouteSpec<P, O, X> & { method: M }) {
  const middleware = [requireSession()];
  return createRoute({
    method: spec.method,
    path: spec.path,
    summary: spec.summary,
    middleware,
    security: [{ [BEARER_SCHEME]: [] }],
    responses: responses(spec, middleware, false),
  });
}

/**
 * bearerRoute() with path parameters, validated by their schema. Apart, because a validator costs
 * even with nothing to validate, and GET /session is meant to be cheap.
 */
export function bearerRouteWithParams<P extends string, M extends 'get' | 'post' | 'delete', R extends z.ZodObject, O extends Outcome, X>(
  spec: RouteSpec<P, O, X> & { method: M; params: R },
) {
  return { ...bearerRoute(spec), request: { params: spec.params } };
}
