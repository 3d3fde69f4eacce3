/**
 * How outcomes become answers. A flow returns a tagged outcome; its endpoint owns a table that
 * says, for each kind of outcome, the status, the JSON (or problem+json) body and, where a person
 * may be looking, the page. The responder (respond.ts) reads the table at run time and the
 * OpenAPI document (openapi.ts) reads the same table, so the two cannot drift apart.
 */
import type { z } from '@hono/zod-openapi';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Page } from '../pages/pages.ts';
import type { ProblemDetails } from './problems.ts';

export interface Outcome {
  kind: string;
}

/** A JSON body and the schema it follows (typed together by `json()`). */
export interface JsonBody<O> {
  schema: z.ZodType;
  body: (outcome: O) => unknown;
}

/** The response headers an answer may carry; each is documented in lib/http/openapi.ts (HEADERS). */
export type HeaderName = 'Retry-After' | 'Accept' | 'Allow' | 'WWW-Authenticate';

/**
 * The headers an answer sends, each with its value for the outcome. Declared by name, so the
 * document lists exactly the headers that each answer sends (a 401 of a bearer route has
 * WWW-Authenticate; the login's 401 has not).
 */
export type AnswerHeaders<O> = { [N in HeaderName]?: (outcome: O) => string };

interface AnswerCommon<O, X> {
  status: ContentfulStatusCode;
  description: string;
  /** The page for a person (a browser, or a page's form), where the route offers pages. */
  page?: (outcome: O, extra: X) => Promise<Page>;
  headers?: AnswerHeaders<O>;
}

/** A success with nothing to say: 204, no body (logout, say). */
export interface NoContent<O> {
  status: 204;
  description: string;
  empty: true;
  page?: undefined;
  headers?: AnswerHeaders<O>;
}

/**
 * A success answers JSON (or nothing) and a refusal problem+json, each with a page where a person
 * may be looking; an answer for a page that only browsers open has its page alone.
 */
export type Answer<O, X = undefined> = NoContent<O> | AnswerWithBody<O, X>;

/** An answer with a body: JSON, problem+json, or a page. */
export type AnswerWithBody<O, X = undefined> =
  | (AnswerCommon<O, X> & { json: JsonBody<O> })
  | (AnswerCommon<O, X> & { problem: (outcome: O) => ProblemDetails })
  | (AnswerCommon<O, X> & { page: (outcome: O, extra: X) => Promise<Page> });

/** One answer per kind of outcome, checked by the compiler to cover every kind. */
export type AnswerTable<O extends Outcome, X = undefined> = { [K in O['kind']]: Answer<Extract<O, { kind: K }>, X> };

/** A JSON body whose type the compiler checks against its schema. */
export function json<S extends z.ZodType, O>(schema: S, body: (outcome: O) => z.input<S>): JsonBody<O> {
  return { schema, body };
}

/**
 * The entry for an outcome. The table's type pairs each kind with an answer for exactly that kind,
 * but TypeScript cannot follow the pairing through a lookup by a kind that is itself generic
 * (microsoft/TypeScript#30581), so the public signature states it and the lookup is plain.
 */
export function answerFor<O extends Outcome, X>(table: AnswerTable<O, X>, outcome: O): Answer<O, X>;
export function answerFor(table: Record<string, Answer<never, never>>, outcome: Outcome): Answer<never, never> | undefined {
  return table[outcome.kind];
}
