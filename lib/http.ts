/**
 * The HTTP plumbing that every handler shares: the router type with Latchkey's validation hook,
 * content-type checks, and handing work to the runtime after the response.
 */
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler, TypedResponse } from 'hono';
import { clientLimitKey } from './client-address.ts';
import type { Deps } from './deps.ts';
import type { Mail } from './mail.ts';
import { tooManyRequestsPage } from './pages.ts';
import { pointerTo, problem, problemResponse, validationProblem, type FieldError, type Problem } from './problems.ts';
import { hit, keys, type Endpoint, type Verdict } from './throttle.ts';

export interface AppEnv {
  Bindings: Record<string, unknown>;
  /** `client` is the caller's address; `deps.log` already adds it to every event. */
  Variables: { deps: Deps; client: string };
}

export type AppContext = Context<AppEnv>;

/** A router whose schema failures answer 422 problem+json naming each field. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      // Unknown fields are refused (schemas are strict), each named by its own pointer, so that a
      // typo such as "pasword" is reported instead of silently ignored.
      const errors = result.error.issues.flatMap((issue): FieldError[] =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ pointer: pointerTo([...issue.path, key]), detail: 'Unknown field.' }))
          : [{ pointer: pointerTo(issue.path), detail: issue.message }],
      );
      return problemResponse(validationProblem(errors));
    },
  });
}

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

/** 415 before any parsing when the body is of a kind the endpoint does not take. */
export function accepts(...kinds: BodyKind[]): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const kind = bodyKind(c);
    if (kind === null || !kinds.includes(kind)) {
      const wanted = kinds.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded')).join(' or ');
      return problemResponse(problem(415, 'unsupported-media-type', 'Unsupported media type', `Send the body as ${wanted}.`), {
        Accept: wanted.replace(' or ', ', '),
      });
    }
    await next();
  };
}

/** Text that cannot carry NUL or unpaired surrogates, which some stores and mailers mangle. */
export const text = (max: number) =>
  z
    .string()
    .max(max, { message: `Must be at most ${max} characters.` })
    .refine((s) => !s.includes('\u0000') && s.isWellFormed(), { message: 'Must be valid text without NUL characters.' });

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

/**
 * Hands a mail to the sink without letting the sink's failure reach the request: the sink runs
 * in a later microtask (so not even a synchronous throw lands here), and nothing awaits it.
 */
export function sendMail(c: AppContext, mail: Mail): void {
  const { deps } = c.var;
  afterResponse(
    c,
    Promise.resolve()
      .then(() => deps.mail.send(mail))
      .catch((error: unknown) => {
        deps.log('mail_failed', { template: mail.template, reason: error instanceof Error ? error.name : 'unknown' });
      }),
  );
}

export type ThrottleRule = 'client' | 'mail' | 'login';

/**
 * The 429 answer for a refused verdict, logged as a `throttled` security event: a page for the
 * browser flows (the link's GET, the pages' forms), problem+json for everything else.
 */
export async function tooManyRequests(c: AppContext, rule: ThrottleRule, verdict: Extract<Verdict, { ok: false }>) {
  const seconds = verdict.retryAfterSeconds;
  c.var.deps.log('throttled', { rule, path: c.req.path, retryAfter: seconds });
  if (c.req.method === 'GET' || bodyKind(c) === 'form') {
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
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .passthrough()
  .openapi('Problem');

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
  503: 'Temporarily unavailable; see Retry-After',
};

/** OpenAPI response entries for problem answers, with the Retry-After header where it is sent. */
export function problemResponses<S extends number>(...statuses: S[]) {
  const entries = statuses.map((status) => {
    const retry = status === 429 || status === 503;
    return [
      status,
      {
        description: PROBLEM_DESCRIPTIONS[status] ?? 'Problem',
        content: { 'application/problem+json': { schema: ProblemSchema } },
        ...(retry ? { headers: { 'Retry-After': { description: 'Seconds to wait before retrying', schema: { type: 'integer' as const } } } } : {}),
      },
    ] as const;
  });
  return Object.fromEntries(entries) as Record<S, (typeof entries)[number][1]>;
}
