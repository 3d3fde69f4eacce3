/**
 * The application: every endpoint's handler mounted on one Hono app, behind the middleware that
 * all of them share. Both runtimes serve this same app; only how `deps` are found differs.
 */
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { MiddlewareHandler } from 'hono';
import { DatabaseUnavailableError } from '../lib/storage/db.ts';
import type { Deps } from '../lib/deps.ts';
import { DEVICE_HEADER } from '../lib/storage/devices.ts';
import { HashQueueFullError } from '../lib/crypto/hash-queue.ts';
import { createRouter, respondProblem, servesPages, wantsPage, type AppContext, type AppEnv } from '../lib/http.ts';
import { errorPage, unavailablePage, type Page } from '../lib/pages/pages.ts';
import { problem } from '../lib/http/problems.ts';
import { RESPONSE_HEADERS } from '../lib/http/security-headers.ts';
import { activation } from './endpoints/activate.ts';
import { devMail, MAILBOX_PATH } from './endpoints/dev-mail.ts';
import { health } from './endpoints/health.ts';
import { home } from './endpoints/home.ts';
import { login } from './endpoints/login.ts';
import { register } from './endpoints/register.ts';
import { resendActivation } from './endpoints/resend-activation.ts';

export const MAX_BODY_BYTES = 16 * 1024;
const RETRY_AFTER_SECONDS = '5';
// The hash queue drains in about a second at any sensible queue length and scrypt cost.
const BUSY_RETRY_AFTER_SECONDS = '1';

/**
 * CORS only for the origins that CORS_ORIGINS lists; with none listed no CORS header is ever
 * sent and browsers keep other sites' pages from reading any answer. One middleware per config.
 */
const corsFor = new WeakMap<Deps['config'], MiddlewareHandler>();
function corsMiddleware(config: Deps['config']): MiddlewareHandler {
  let handler = corsFor.get(config);
  if (!handler) {
    handler = cors({ origin: config.corsOrigins, allowMethods: ['GET', 'POST'], allowHeaders: ['Content-Type', DEVICE_HEADER], maxAge: 600 });
    corsFor.set(config, handler);
  }
  return handler;
}

/** The body stream failed because the connection closed under it: the client's doing, not ours. */
function clientWentAway(c: AppContext, error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return c.req.raw.signal?.aborted === true && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || error.name === 'AbortError');
}

export function createApp(resolveDeps: (c: AppContext) => Deps) {
  const app = createRouter();

  // The pages people open (GET / and the link's page), marked here, before any shared middleware
  // runs, so that even a failure there answers them with a page rather than JSON. The one place
  // that knows which routes are pages.
  app.on('GET', ['/', '/activate', MAILBOX_PATH], servesPages);

  const tooLarge = () =>
    respondProblem(problem(413, 'body-too-large', 'Request body too large', `Bodies may be at most ${MAX_BODY_BYTES} bytes.`));
  const limitStream = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });
  // A declared length is checked as declared (the HTTP parser never reads past it), without
  // touching the body stream: asking a request for its stream makes @hono/node-server build a full
  // web Request, which costs more than the whole handler. Bodies without a length are counted.
  const limitBody: MiddlewareHandler<AppEnv> = (c, next) => {
    const length = c.req.header('content-length');
    if (length === undefined || c.req.header('transfer-encoding') !== undefined) return limitStream(c, next);
    return Number.parseInt(length, 10) > MAX_BODY_BYTES ? Promise.resolve(tooLarge()) : next();
  };
  // One middleware for what every request needs. The headers go on before the handler runs, so
  // that each response is made with them (problem responses add them themselves); a GET has no body.
  app.use((c, next) => {
    for (const [name, value] of RESPONSE_HEADERS) c.header(name, value);
    const deps = resolveDeps(c);
    const client = deps.clientAddress(c);
    // Every security event names the client it came from.
    c.set('deps', { ...deps, log: (event, fields) => deps.log(event, { ...fields, client }) });
    c.set('client', client);
    return c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : limitBody(c, next);
  });
  app.use(async (c, next) => {
    const { config } = c.var.deps;
    if (config.corsOrigins.length === 0) return next();
    return corsMiddleware(config)(c, next);
  });

  app.route('/', health);
  app.route('/', register);
  app.route('/', activation);
  app.route('/', login);
  app.route('/', resendActivation);
  app.route('/', home);
  app.route('/', devMail);

  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Latchkey',
      version: '0.1.0',
      description: 'Email + password accounts with activation links. Errors are RFC 9457 problem details.',
    },
  });

  app.notFound(() => respondProblem(problem(404, 'not-found', 'Not found', 'No endpoint answers at this path and method.')));

  // A person's browser gets a page, not JSON, when something fails on a page route or a page's form.
  const pageOr = async (c: AppContext, page: () => Promise<Page>, answer: Response, headers: Record<string, string> = {}) => {
    if (!wantsPage(c)) return answer;
    const { body, status } = await page();
    return c.html(body, status, headers);
  };

  app.onError(async (error, c) => {
    if (error instanceof HTTPException) {
      const status = error.status;
      const title = status === 400 ? 'The request body could not be parsed' : 'Request refused';
      return respondProblem(problem(status, status === 400 ? 'malformed-body' : 'refused', title, status === 400 ? 'Send well-formed JSON (or the page\'s form).' : undefined));
    }
    if (clientWentAway(c, error)) {
      // The client broke off (or garbled) its body while it was read: Node's HTTP parser has
      // already logged it as bad_request (functions/node-http.ts), and nobody is left to answer.
      return respondProblem(problem(400, 'malformed-body', 'The request body was cut off'));
    }
    if (error instanceof DatabaseUnavailableError) {
      c.var.deps?.log('database_unavailable', { reason: error.cause instanceof Error ? error.cause.name : 'unknown' });
      const retry = { 'Retry-After': RETRY_AFTER_SECONDS };
      return pageOr(c, unavailablePage, respondProblem(problem(503, 'unavailable', 'Temporarily unavailable', 'Nothing was changed. Try again shortly.'), retry), retry);
    }
    if (error instanceof HashQueueFullError) {
      c.var.deps?.log('hash_queue_full', {});
      const retry = { 'Retry-After': BUSY_RETRY_AFTER_SECONDS };
      return pageOr(c, unavailablePage, respondProblem(problem(503, 'busy', 'Too busy right now', 'Too many sign-ins at once. Nothing was changed. Try again in a moment.'), retry), retry);
    }
    c.var.deps?.log('internal_error', { reason: error instanceof Error ? error.name : 'unknown' });
    return pageOr(c, errorPage, respondProblem(problem(500, 'internal', 'Internal error', 'Something went wrong on our side.')));
  });

  return app;
}
