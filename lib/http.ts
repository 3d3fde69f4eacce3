/**
 * The HTTP plumbing that every handler shares: the router type with Latchkey's validation hook,
 * content-type checks, and handing work to the runtime after the response.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import { clientLimitKey } from './http/client-address.ts';
import type { Deps } from './deps.ts';
import type { Mail } from './mail/mail.ts';
import { formErrorPage, tooManyRequestsPage } from './pages/pages.ts';
import { pageResponse, pointerTo, problem, problemResponse, validationProblem, type FieldError, type Problem } from './http/problems.ts';
import { hit, keys, type Endpoint, type Verdict } from './storage/throttle.ts';
import { isUtf8Body, notUtf8Answer } from './http/request-body.ts';

export interface AppEnv {
  Bindings: Record<string, unknown>;
  /**
   * `page`: this request is a person's browser on a page route, so errors answer as pages too.
   * `client`: the caller's address; `deps.log` already adds it to every event.
   */
  Variables: { deps: Deps; page?: boolean; client: string };
}

export type AppContext = Context<AppEnv>;

/**
 * A router whose schema failures answer 422 problem+json naming each field, or, for a form that a
 * page posted, a page that says the same in words.
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: async (result, c) => {
      if (result.success) return;
      // Unknown fields are refused (schemas are strict), each named by its own pointer, so that a
      // typo such as "pasword" is reported instead of silently ignored.
      const errors = result.error.issues.flatMap((issue): FieldError[] =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ pointer: pointerTo([...issue.path, key]), detail: 'Unknown field.' }))
          : [{ pointer: pointerTo(issue.path), detail: issue.message }],
      );
      if (bodyKind(c as AppContext) === 'form') {
        return pageResponse(await formErrorPage(errors));
      }
      return problemResponse(validationProblem(errors));
    },
  });
}

/** Marks a route that a person opens in a browser (functions/app.ts applies it): its errors become pages. */
export const servesPages: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set('page', true);
  await next();
};

/** A browser page route, or a form that one of the pages posted. */
export const wantsPage = (c: AppContext): boolean => c.get('page') === true || bodyKind(c) === 'form';

/**
 * A problem response that the typed OpenAPI routes accept for any status they declare. The
 * contract tests check every response against the document at run time instead.
 */
export const respondProblem = (p: Problem, headers?: Record<string, string>) =>
  problemResponse(p, headers) as Response & TypedResponse<any, any, 'json'>;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;|$)/i;

export type BodyKind = 'json' | 'form';

export function bodyKind(c: AppContext): BodyKind | null {
  const type = c.req.header('content-type') ?? '';
  if (JSON_TYPE.test(type)) return 'json';
  if (FORM_TYPE.test(type)) return 'form';
  return null;
}

/**
 * 415 before any parsing when the body is of a kind the endpoint does not take; 400 when it is not
 * UTF-8, rather than letting invalid bytes become U+FFFD (lib/http/request-body.ts).
 */
export function accepts(...kinds: BodyKind[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const kind = bodyKind(c);
    if (kind === null || !kinds.includes(kind)) {
      const wanted = kinds.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(' or ');
      return problemResponse(problem(415, 'unsupported-media-type', 'Unsupported media type', `Send the body as ${wanted}.`), {
        Accept: wanted.replace(' or ', ', '),
      });
    }
    if (!(await isUtf8Body(c.req, kind))) return notUtf8Answer(kind);
    await next();
  };
}

/** Text that cannot carry NUL or unpaired surrogates, which some stores and mailers mangle. */
export const text = (max: number) =>
  z
    .string()
    .max(max, { message: `Must be at most ${max} characters.` })
    .refine((s) => !s.includes('\u0000') && s.isWellFormed(), { message: 'Must be valid text without NUL characters.' });

/** An address and a password: the body of both register and login. */
export const Credentials = z
  .object({
    email: text(320).openapi({ example: 'ada@example.com' }),
    password: text(1024).openapi({ example: 'correct horse battery staple' }),
  })
  .strict()
  .openapi('Credentials');

/**
 * Work that must not hold up the response: on Workers it goes to waitUntil, so the runtime keeps
 * the isolate alive for it; on Node there is no execution context (Hono throws when asked), and the
 * event loop keeps the promise alive.
 */
export function afterResponse(c: AppContext, work: Promise<unknown>): void {
  const settled = work.catch(() => undefined);
  try {
    c.executionCtx.waitUntil(settled);
  } catch {
    void settled;
  }
}

/** The mail sink did not finish within config.mailTimeoutMs. */
export class MailTimeoutError extends Error {
  override name = 'MailTimeoutError';
}

/**
 * Hands a mail to the sink without letting the sink reach the request: the sink may throw, reject
 * or never settle, and the response goes out all the same. A sink that has not settled after
 * mailTimeoutMs is given up on, so that a hanging mailer holds a timer and a promise per mail for
 * that long at most, not for ever (the user can ask for a new link).
 */
export function sendMail(c: AppContext, mail: Mail): void {
  const { deps } = c.var;
  let sending: Promise<void>;
  try {
    sending = deps.mail.send(mail);
  } catch (error) {
    sending = Promise.reject(error);
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new MailTimeoutError()), deps.config.mailTimeoutMs);
    // On Node a pending mail must not keep a stopping server alive.
    (timer as { unref?: () => void }).unref?.();
  });
  afterResponse(
    c,
    Promise.race([sending, timeout])
      .catch((error: unknown) => {
        deps.log('mail_failed', { template: mail.template, reason: error instanceof Error ? error.name : 'unknown' });
      })
      .finally(() => clearTimeout(timer)),
  );
}

const FieldErrorSchema = z.object({
  pointer: z.string().openapi({ description: 'JSON Pointer (RFC 6901) to the field in the request body', example: '/password' }),
  detail: z.string(),
});

/** The limits that answer 429 (a spent mail allowance answers 202 and only holds the mail back). */
export type ThrottleRule = 'client' | 'login';

/**
 * The 429 answer for a refused verdict, logged as a `throttled` security event: a page for the
 * browser flows (the link's GET, the pages' forms), problem+json for everything else.
 */
export async function tooManyRequests(c: AppContext, rule: ThrottleRule, verdict: Extract<Verdict, { ok: false }>) {
  const seconds = verdict.retryAfterSeconds;
  c.var.deps.log('throttled', { rule, path: c.req.path, retryAfter: seconds });
  if (wantsPage(c)) {
    const page = await tooManyRequestsPage(seconds);
    return c.html(page.body, 429, { 'Retry-After': String(seconds) }) as unknown as ReturnType<typeof respondProblem>;
  }
  return respondProblem(
    problem(429, 'too-many-requests', 'Too many requests', `Wait ${seconds} seconds before trying again.`, { retryAfter: seconds }),
    { 'Retry-After': String(seconds) },
  );
}

/** Counts the request against its client's allowance for this endpoint, before anything else. */
export function limitPerClient(endpoint: Endpoint): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { db, config, now } = c.var.deps;
    const verdict = await hit(db, keys.client(endpoint, clientLimitKey(c.var.client)), config.throttle.perClient[endpoint], now());
    if (!verdict.ok) return tooManyRequests(c, 'client', verdict);
    await next();
  };
}

const ProblemSchema = z
  .object({
    type: z.string().openapi({ description: 'A URN naming the kind of problem', example: 'urn:latchkey:problem:invalid-credentials' }),
    title: z.string(),
    status: z.number().int().openapi({ description: 'The HTTP status code, repeated' }),
    detail: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    resend: z
      .object({ method: z.literal('POST'), href: z.string() })
      .optional()
      .openapi({ description: 'Where to ask for a new activation link (on 410 link-expired)' }),
  })
  .passthrough()
  .openapi('Problem', { description: 'RFC 9457 problem details' });

const ValidationProblemSchema = ProblemSchema.extend({
  status: z.literal(422),
  errors: z.array(FieldErrorSchema).min(1),
}).openapi('ValidationProblem', { description: 'RFC 9457 problem details naming each invalid field' });

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The body is not valid JSON, or the link is invalid',
  401: 'Wrong email or password',
  403: 'Forbidden',
  404: 'Not found',
  410: 'The link has expired',
  413: 'The body is larger than 16 KiB',
  415: 'The body is not of a supported media type',
  422: 'A field is missing or invalid; `errors` names each one',
  429: 'Too many requests; see Retry-After',
  500: 'Internal error (nothing about it is disclosed)',
  503: 'Temporarily unavailable; see Retry-After',
};

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before retrying', required: true, schema: { type: 'integer' as const, minimum: 0 } },
};
const ACCEPT = {
  Accept: { description: 'The media types this endpoint takes (RFC 9110, section 15.5.16)', required: true, schema: { type: 'string' as const } },
};

const headersFor = (status: number) => (status === 429 || status === 503 ? { headers: RETRY_AFTER } : status === 415 ? { headers: ACCEPT } : {});

/**
 * OpenAPI response entries for problem answers, with the headers that come with them. Every route
 * also gets 500, which the app's error handler can answer anywhere.
 */
export function problemResponses<S extends number>(...statuses: S[]) {
  const all = [...new Set<number>([...statuses, 500])];
  const entries = all.map((status) => [
    status,
    {
      description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
      content: { 'application/problem+json': { schema: status === 422 ? ValidationProblemSchema : ProblemSchema } },
      ...headersFor(status),
    },
  ] as const);
  return Object.fromEntries(entries) as Record<S | 500, (typeof entries)[number][1]>;
}

const HTML_PAGE = { 'text/html': { schema: z.string().openapi({ description: 'A page for people' }) } };

/** Error answers of a route that only people open (GET pages): pages, never problem+json. */
export function pageResponses<S extends number>(...statuses: S[]) {
  const entries = statuses.map((status) => [status, { description: PROBLEM_DESCRIPTIONS[status] ?? 'Page', ...headersFor(status), content: HTML_PAGE }] as const);
  return Object.fromEntries(entries) as Record<S, (typeof entries)[number][1]>;
}

/**
 * The same entries for a route that people reach with a browser or a page's form: those statuses
 * can also answer with a page (text/html) instead of problem+json.
 */
export function withPages<R extends Record<number, { description: string; content?: Record<string, unknown> }>>(responses: R, ...statuses: number[]): R {
  const out: Record<number, unknown> = { ...responses };
  for (const status of statuses) {
    const entry = responses[status] ?? { description: PROBLEM_DESCRIPTIONS[status] ?? 'Page', ...headersFor(status) };
    out[status] = {
      ...entry,
      description: `${entry.description}. A form-encoded request (a page's form) gets a page (text/html); JSON gets the JSON shown`,
      content: { ...(entry.content ?? {}), ...HTML_PAGE },
    };
  }
  return out as R;
}
