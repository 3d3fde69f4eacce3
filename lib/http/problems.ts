/**
 * Error answers as RFC 9457 problem details (application/problem+json). Every 4xx and 5xx that
 * Latchkey sends is one of these: a stable `type`, a short `title`, a `detail` for people, and
 * extension members where a client can act on them.
 */
import type { Page } from '../pages/pages.ts';
import { RESPONSE_HEADER_RECORD } from './security-headers.ts';

export interface FieldError {
  /** JSON Pointer (RFC 6901) into the request body. */
  pointer: string;
  detail: string;
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const problemType = (slug: string) => `urn:latchkey:problem:${slug}`;

export function problem(status: number, slug: string, title: string, detail?: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: problemType(slug), title, status, ...(detail === undefined ? {} : { detail }), ...extensions };
}

/** A finished response, so it carries the headers that every response must have itself. */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(p), {
    status: p.status,
    headers: { ...RESPONSE_HEADER_RECORD, 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers },
  });
}

/**
 * The same for an error page, for answers made outside a handler (validation hooks, body checks),
 * where the request asked for a page rather than problem+json.
 */
export function pageResponse(page: Page, status: number = page.status): Response {
  return new Response(page.body, { status, headers: { ...RESPONSE_HEADER_RECORD, 'Content-Type': 'text/html; charset=UTF-8' } });
}

export const validationProblem = (errors: FieldError[]) =>
  problem(422, 'validation', 'The request has invalid fields', 'Correct the fields named in errors and try again.', { errors });

/** JSON Pointer for a path of keys, escaping as RFC 6901 asks. */
export function pointerTo(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
