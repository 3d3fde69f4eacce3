/**
 * The shape most endpoints have: POST with a JSON body, counted against the client's allowance for
 * the endpoint, answered from the flow's table. One declaration, so that a new flow's route is its
 * path, its body schema and its answers.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Endpoint } from '../storage/throttle.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import { limitPerClient } from './limit-per-client.ts';
import { accepts } from './media.ts';
import { responsesOf } from './openapi.ts';
import type { EdgeKind } from './respond.ts';

export interface JsonPostSpec<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X> {
  path: P;
  summary: string;
  /** Whose per-client allowance the request counts against. */
  limit: Endpoint;
  body: S;
  /** Request headers the endpoint reads, for the document. */
  headers: H;
  answers: AnswerTable<O, X>;
  /** Edge answers the flow can lead to besides those of the body and the allowance. */
  edges: readonly EdgeKind[];
}

export function jsonPost<P extends string, S extends z.ZodType, H extends z.ZodObject, O extends Outcome, X>(spec: JsonPostSpec<P, S, H, O, X>) {
  const middleware = [limitPerClient(spec.limit), accepts('json')];
  return createRoute({
    method: 'post',
    path: spec.path,
    summary: spec.summary,
    middleware,
    request: { headers: spec.headers, body: { required: true, content: { 'application/json': { schema: spec.body } } } },
    responses: responsesOf(spec.answers, { middleware, edges: ['body-too-large', ...spec.edges] }),
  });
}

export type FormOrJsonPostSpec<P extends string, S extends z.ZodType, O extends Outcome, X> = Omit<JsonPostSpec<P, S, z.ZodObject, O, X>, 'headers'>;

/**
 * POST with a JSON body from a program or the same fields as a form from one of our pages, which
 * gets a page back (functions/app.ts marks the path as offering pages when asked).
 */
export function formOrJsonPost<P extends string, S extends z.ZodType, O extends Outcome, X>(spec: FormOrJsonPostSpec<P, S, O, X>) {
  const middleware = [limitPerClient(spec.limit), accepts('json', 'form')];
  return createRoute({
    method: 'post',
    path: spec.path,
    summary: spec.summary,
    middleware,
    request: {
      body: {
        // Not `required: true`: @hono/zod-openapi would then validate the body as every listed media
        // type at once. A missing body is still refused, by the 415 or 422 documented below.
        content: { 'application/json': { schema: spec.body }, 'application/x-www-form-urlencoded': { schema: spec.body } },
      },
    },
    responses: responsesOf(spec.answers, { middleware, edges: ['body-too-large', ...spec.edges], pages: 'negotiated' }),
  });
}

/** What the pages of a mailed link need that only the request knows: the token, the password rule. */
export interface LinkPageContext {
  token: string;
  minLength: number;
}

/**
 * GET of the page behind a mailed link (`?token=…`): always a page, counted against the client's
 * allowance for the endpoint the page's form posts to.
 */
export function linkPage<P extends string, O extends Outcome, X>(spec: { path: P; summary: string; limit: Endpoint; answers: AnswerTable<O, X> }) {
  const middleware = [limitPerClient(spec.limit)];
  return createRoute({
    method: 'get',
    path: spec.path,
    summary: spec.summary,
    middleware,
    request: { query: z.object({ token: z.string().optional() }) },
    responses: responsesOf(spec.answers, { middleware, edges: ['invalid-fields', 'unavailable'], pages: 'always' }),
  });
}
