/**
 * The shape most endpoints have: POST with a JSON body, counted against the client's allowance for
 * the endpoint, answered from the flow's table. One declaration, so that a new flow's route is its
 * path, its body schema and its answers.
 */
import { createRoute, type z } from '@hono/zod-openapi';
import type { Endpoint } from '../storage/throttle.ts';
import type { AnswerTable, Outcome } from './answers.ts';
import { limitPerClient } from './limit-per-client.ts';
import { accepts } from './accept-body.ts';
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
