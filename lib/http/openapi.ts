/**
 * The OpenAPI side of the answer tables: each route's `responses` are made from the table its
 * handler answers with, plus the edge answers of the middleware it runs, so the document lists
 * exactly the statuses, media types and headers that the code can send.
 */
import { z } from '@hono/zod-openapi';
import type { Answer, AnswerTable, Outcome } from './answers.ts';
import type { PageMode } from './context.ts';
import type { AnsweringMiddleware } from './media.ts';
import { EDGE, type EdgeKind } from './respond.ts';

/** One entry of a route's `responses`, in the shape @hono/zod-openapi takes. */
interface ResponseConfig {
  description: string;
  content?: Record<string, { schema: z.ZodType }>;
  headers?: Record<string, { description: string; required: boolean; schema: { type: 'integer' | 'string'; minimum?: number } }>;
}

const FieldErrorSchema = z.object({
  pointer: z.string().openapi({ description: 'JSON Pointer (RFC 6901) to the field in the request body', example: '/password' }),
  detail: z.string(),
});

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ description: 'A URN naming the kind of problem', example: 'urn:latchkey:problem:invalid-credentials' }),
    title: z.string(),
    status: z.number().int().openapi({ description: 'The HTTP status code, repeated' }),
    detail: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    retryAfter: z.number().int().min(0).optional().openapi({ description: 'Seconds to wait (on 429), as in Retry-After' }),
    resend: z
      .object({ method: z.literal('POST'), href: z.string() })
      .optional()
      .openapi({ description: 'Where to ask for a new activation link (on 410 link-expired)' }),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details' });

const ValidationProblemSchema = ProblemSchema.extend({
  status: z.literal(422),
  errors: z.array(FieldErrorSchema).min(1),
}).openapi('ValidationProblem', { description: 'RFC 9457 problem details naming each invalid field' });

const HTML_PAGE = z.string().openapi({ description: 'A page for people' });

export const HEADERS: Record<string, NonNullable<ResponseConfig['headers']>> = {
  'Retry-After': { 'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 0 } } },
  Accept: { Accept: { description: 'The media types this endpoint takes (RFC 9110, section 15.5.16)', required: true, schema: { type: 'string' } } },
  Allow: { Allow: { description: 'The methods this path takes (RFC 9110, section 10.2.1)', required: true, schema: { type: 'string' } } },
};

const HEADERS_BY_STATUS: Record<number, string[]> = { 405: ['Allow'], 415: ['Accept'], 429: ['Retry-After'], 503: ['Retry-After'] };
const headerNames = (status: number) => HEADERS_BY_STATUS[status] ?? [];

/** The document's tags, each with what its operations are for; every operation has one. */
export const TAGS = {
  accounts: 'The account API: register, activate, log in, ask for a new activation link, reset a forgotten password. JSON in, JSON out.',
  sessions: 'What a login gives the app: the session behind a bearer token, logging out, changing the password, deleting the account.',
  pages: 'HTML for people: the page behind the activation link, the demo page and its script. Not for API clients.',
  service: 'The service itself: whether it is up, and this document.',
} as const;

export type Tag = keyof typeof TAGS;

type AnyAnswer = Answer<never, never>;

type Content = NonNullable<ResponseConfig['content']>;

function contentOf(answer: AnyAnswer, pages: PageMode | undefined): Content {
  if ('empty' in answer) return {};
  const page: Content = pages !== undefined && answer.page !== undefined ? { 'text/html': { schema: HTML_PAGE } } : {};
  if (pages === 'always' && answer.page !== undefined) return page;
  if ('json' in answer) return { 'application/json': { schema: answer.json.schema }, ...page };
  if ('problem' in answer) return { 'application/problem+json': { schema: answer.status === 422 ? ValidationProblemSchema : ProblemSchema }, ...page };
  return page;
}

function tableAnswers<O extends Outcome, X>(table: AnswerTable<O, X>): AnyAnswer[] {
  const kinds: Array<O['kind']> = Object.keys(table);
  return kinds.map((kind) => table[kind]);
}

export interface ResponsesOptions {
  /** The route's middleware: each adds the edge answers it can give. */
  middleware?: readonly AnsweringMiddleware[];
  /** Edge answers the handler itself can lead to (the database, the hash queue, the body limit). */
  edges?: readonly EdgeKind[];
  /** Whether the route answers with pages, and when (functions/app.ts marks those routes). */
  pages?: PageMode;
}

/**
 * The `responses` of a route: one entry per status, merging outcomes that share one. Every route
 * also gets 500, which the error handler can answer anywhere.
 */
export function responsesOf<O extends Outcome, X>(table: AnswerTable<O, X>, options: ResponsesOptions = {}): Record<string, ResponseConfig> {
  const edges = new Set<EdgeKind>([...(options.middleware ?? []).flatMap((m) => m.answers), ...(options.edges ?? []), 'internal']);
  const answers: AnyAnswer[] = [...tableAnswers(table), ...[...edges].map((kind) => EDGE[kind])];
  const out: Record<string, ResponseConfig> = {};
  for (const answer of answers.sort((a, b) => a.status - b.status)) {
    const seen = out[answer.status];
    const content = contentOf(answer, options.pages);
    const headers = Object.assign({}, ...headerNames(answer.status).map((name) => HEADERS[name]));
    out[answer.status] = seen
      ? { ...seen, description: `${seen.description}; or: ${answer.description}`, content: { ...seen.content, ...content } }
      : { description: answer.description, content, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
  }
  return out;
}
