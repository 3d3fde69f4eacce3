/**
 * The OpenAPI side of the answer tables: each route's `responses` are made from the table its
 * handler answers with, plus the edge answers of the middleware it runs, so the document lists
 * exactly the statuses, media types and headers that the code can send.
 */
import { z } from '@hono/zod-openapi';
import type { Answer, AnswerTable, HeaderName, Outcome } from './answers.ts';
import type { PageMode } from './context.ts';
import type { AnsweringMiddleware, PageMark } from './media.ts';
import { EDGE, type EdgeKind } from './respond.ts';

/** One entry of a route's `responses`, in the shape @hono/zod-openapi takes (exported: the build's .d.ts of every route names it). */
export interface ResponseConfig {
  description: string;
  content?: Record<string, { schema: z.ZodType }>;
  headers?: Record<string, { description: string; required: boolean; schema: { type: 'integer' | 'string'; minimum?: number } }>;
}

const FieldErrorSchema = z.object({
  pointer: z.string().openapi({ description: 'JSON Pointer (RFC 6901) to the field in the request body', example: '/password' }),
  detail: z.string(),
});

const ProblemSchema = z
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

type HeaderDoc = NonNullable<ResponseConfig['headers']>[string];

/** What the document says of each header an answer can send (answers.ts, HeaderName). */
const HEADERS: Record<HeaderName, HeaderDoc> = {
  'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer', minimum: 0 } },
  Accept: { description: 'The media types this endpoint takes (RFC 9110, section 15.5.16)', required: true, schema: { type: 'string' } },
  Allow: { description: 'The methods this path takes (RFC 9110, section 10.2.1)', required: true, schema: { type: 'string' } },
  'WWW-Authenticate': {
    description: 'The scheme to authenticate with: Bearer, with the session token from POST /login (RFC 6750, section 3)',
    required: true,
    schema: { type: 'string' },
  },
};

/** The documented headers of the answers that share a status: those every one of them sends are required. */
function headersOf(answers: AnyAnswer[]): ResponseConfig['headers'] {
  const names = new Set(answers.flatMap((answer) => Object.keys(answer.headers ?? {}) as HeaderName[]));
  if (names.size === 0) return undefined;
  const everyOne = (name: HeaderName) => answers.every((answer) => answer.headers?.[name] !== undefined);
  return Object.fromEntries([...names].map((name) => [name, { ...HEADERS[name], required: everyOne(name) }]));
}


/** The document's tags, each with what its operations are for; every operation has one. */
export const TAGS = {
  accounts: 'The account API: register, activate, log in (and its second step with a code when the account has an authenticator), ask for a new activation link, reset a forgotten password. JSON in, JSON out.',
  sessions: 'What a login gives the app: the session behind a bearer token, logging out, the known devices, changing the password, deleting the account, the authenticator and recovery codes.',
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
}

/** Whether the route answers with pages, and when: as its middleware declares (offersPages). */
const pagesOf = (middleware: readonly AnsweringMiddleware[]): PageMode | undefined =>
  middleware.map((m) => (m as Partial<PageMark>).pages).find((mode) => mode !== undefined);

/**
 * The `responses` of a route: one entry per status, merging outcomes that share one. Every route
 * also gets 500, which the error handler can answer anywhere.
 */
export function responsesOf<O extends Outcome, X>(table: AnswerTable<O, X>, options: ResponsesOptions = {}): Record<string, ResponseConfig> {
  const edges = new Set<EdgeKind>([...(options.middleware ?? []).flatMap((m) => m.answers), ...(options.edges ?? []), 'internal']);
  // An edge the table also answers (a flow that returns `throttled` behind a middleware that may too) is listed once.
  const answers: AnyAnswer[] = [...new Set([...tableAnswers(table), ...[...edges].map((kind) => EDGE[kind])])];
  const byStatus = new Map<number, AnyAnswer[]>();
  for (const answer of answers.sort((a, b) => a.status - b.status)) byStatus.set(answer.status, [...(byStatus.get(answer.status) ?? []), answer]);
  const out: Record<string, ResponseConfig> = {};
  const pages = pagesOf(options.middleware ?? []);
  for (const [status, shared] of byStatus) {
    const headers = headersOf(shared);
    out[status] = {
      description: shared.map((answer) => answer.description).join('; or: '),
      content: Object.assign({}, ...shared.map((answer) => contentOf(answer, pages))),
      ...(headers && { headers }),
    };
  }
  return out;
}
