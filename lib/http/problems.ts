/**
 * Error answers as RFC 9457 problem details (application/problem+json). Every 4xx and 5xx that
 * Latchkey sends is one of these: a stable `type`, a short `title`, a `detail` for people, and
 * extension members where a client can act on them. The status is not part of what a flow's
 * answer table writes: the table entry's own status is put in, so the two cannot disagree.
 */
import type { FieldError } from '../flows/field-error.ts';
import { responseWith } from './security-headers.ts';

export type { FieldError } from '../flows/field-error.ts';

/** A problem without its status: what an answer table entry describes. */
export interface ProblemDetails {
  type: string;
  title: string;
  detail?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export interface Problem extends ProblemDetails {
  status: number;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function details(slug: string, title: string, detail?: string, extensions: Record<string, unknown> = {}): ProblemDetails {
  return { type: `urn:latchkey:problem:${slug}`, title, ...(detail === undefined ? {} : { detail }), ...extensions };
}

/**
 * A problem answer, made with the headers every response carries (responseWith), so that it can
 * be used where no Hono context is, such as the Node server's own answers.
 */
export function problemResponse(p: Problem, headers: Record<string, string> = {}): Response {
  return responseWith(JSON.stringify(p), p.status, { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers });
}

/** JSON Pointer for a path of keys, escaping as RFC 6901 asks. */
export function pointerTo(path: ReadonlyArray<PropertyKey>): string {
  return path.map((key) => `/${String(key).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
