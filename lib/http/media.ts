/**
 * What a request sends and what it wants back: the body's media type (accept-body.ts refuses the
 * ones an endpoint does not take), and whether the answer should be a page for a person.
 */
import type { MiddlewareHandler } from 'hono';
import { accepts as negotiate } from 'hono/accepts';
import type { AppContext, AppEnv, PageMode } from './context.ts';
import type { EdgeKind } from './edge-outcomes.ts';

// JSON as RFC 8259 has it: UTF-8, so a charset parameter may only say utf-8.
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

export type BodyKind = 'json' | 'form';

export const MEDIA_TYPES: Record<BodyKind, string> = { json: 'application/json', form: 'application/x-www-form-urlencoded' };

export function bodyKind(c: AppContext): BodyKind | null {
  const type = c.req.header('content-type') ?? '';
  if (JSON_TYPE.test(type)) return 'json';
  if (FORM_TYPE.test(type)) return 'form';
  return null;
}

/** A middleware together with the edge answers it can give, for the route's OpenAPI entry. */
export type AnsweringMiddleware = MiddlewareHandler<AppEnv> & { answers: readonly EdgeKind[] };

export function answering(handler: MiddlewareHandler<AppEnv>, answers: readonly EdgeKind[]): AnsweringMiddleware {
  return Object.assign(handler, { answers });
}

/** A route's mark that it answers people with pages, and when. */
export type PageMark = AnsweringMiddleware & { pages: PageMode };

/**
 * Marks a route that answers people with pages: a route declares it among its middleware, its
 * document entry gets the pages' media type from it (responsesOf), and functions/app.ts finds
 * the marked routes (pageRoutesOf) to mark them again before any shared middleware, so that even
 * a failure there answers with a page.
 */
export function offersPages(mode: PageMode): PageMark {
  // Not async: handing on next()'s promise spares a page route (marked twice) a promise and a
  // turn of the microtask queue per mark.
  const mark: MiddlewareHandler<AppEnv> = function marksPages(c, next) {
    c.set('pages', mode);
    return next();
  };
  return Object.assign(mark, { answers: [], pages: mode });
}

const isPageMark = (handler: unknown): handler is PageMark => typeof handler === 'function' && 'pages' in handler;

/** The routes of these routers that declare pages (offersPages), with how: the one list of page routes. */
export function pageRoutesOf(routers: ReadonlyArray<{ routes: ReadonlyArray<{ method: string; path: string; handler: unknown }> }>) {
  return routers.flatMap((router) => router.routes.flatMap((route) => (isPageMark(route.handler) ? [{ method: route.method, path: route.path, mode: route.handler.pages }] : [])));
}

/**
 * A page for a route that offers pages, when the route is one a browser opens, or the request is
 * a page's form, or it asks for HTML before JSON (a browser's Accept); JSON otherwise.
 */
export function wantsPage(c: AppContext): boolean {
  const mode = c.get('pages');
  if (mode === 'always') return true;
  if (mode !== 'negotiated') return false;
  if (bodyKind(c) === 'form') return true;
  return negotiate(c, { header: 'Accept', supports: ['application/json', 'text/html'], default: 'application/json' }) === 'text/html';
}
