/**
 * The application: every endpoint's handler mounted on one Hono app, behind the middleware that
 * all of them share. Both runtimes serve this same app; only how `deps` are found differs.
 */
import { HTTPException } from 'hono/http-exception';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { MiddlewareHandler } from 'hono';
import { basePath } from 'hono/route';
import { HashQueueFullError } from '../lib/crypto/hash-queue.ts';
import type { Deps } from '../lib/deps.ts';
import type { AppContext, AppEnv } from '../lib/http/context.ts';
import { offersPages, pageRoutesOf } from '../lib/http/media.ts';
import { BodyReadError } from '../lib/http/request-body.ts';
import { documentFor, documentRoute, methodsAt } from '../lib/http/openapi-document.ts';
import { MAX_BODY_BYTES, respondEdge } from '../lib/http/respond.ts';
import { createRouter } from '../lib/http/router.ts';
import { withResponseHeaders } from '../lib/http/security-headers.ts';
import { DatabaseUnavailableError } from '../lib/storage/db.ts';
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { BEARER_SCHEME } from '../lib/http/bearer-routes.ts';
import { activateEndpoints } from './endpoints/activate.ts';
import { changeEmailEndpoint } from './endpoints/change-email.ts';
import { changePasswordEndpoint } from './endpoints/change-password.ts';
import { confirmEmailEndpoints } from './endpoints/confirm-email.ts';
import { deleteAccountEndpoint } from './endpoints/delete-account.ts';
import { devicesEndpoints } from './endpoints/devices.ts';
import { devMailEndpoint } from './endpoints/dev-mail.ts';
import { healthEndpoint } from './endpoints/health.ts';
import { forgotPasswordEndpoint } from './endpoints/forgot-password.ts';
import { homeEndpoints } from './endpoints/home.ts';
import { loginEndpoint } from './endpoints/login.ts';
import { loginMfaEndpoint } from './endpoints/mfa-login.ts';
import { mfaEndpoints } from './endpoints/mfa-totp.ts';
import { registerEndpoint } from './endpoints/register.ts';
import { resendActivationEndpoint } from './endpoints/resend-activation.ts';
import { resetPasswordEndpoints } from './endpoints/reset-password.ts';
import { sessionEndpoints } from './endpoints/session.ts';
import { sessionsEndpoints } from './endpoints/sessions.ts';
import { undoEmailChangeEndpoints } from './endpoints/undo-email-change.ts';

export { MAX_BODY_BYTES };

/** The body stream failed because the connection closed under it: the client's doing, not ours. */
function clientWentAway(c: AppContext, error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as NodeJS.ErrnoException).code;
  return c.req.raw.signal?.aborted === true && (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || error.name === 'AbortError');
}

const tooLarge = (c: AppContext) => respondEdge(c, { kind: 'body-too-large' });
const limitStream = bodyLimit({ maxSize: MAX_BODY_BYTES, onError: tooLarge });

/**
 * A declared length is checked as declared (the HTTP parser never reads past it), without asking
 * for the body stream as Hono's bodyLimit does: on Node that makes @hono/node-server build a full
 * web Request, and a small JSON POST then costs the server 120 µs of CPU instead of 39 µs, 3.1
 * times as much, though both read the body (`node bench/body-limit.ts`, one run on this 2-core
 * machine). Bodies without a declared length go through Hono's bodyLimit, which counts them.
 */
const limitBody: MiddlewareHandler<AppEnv> = function limitBody(c, next) {
  const length = c.req.header('content-length');
  if (length === undefined || c.req.header('transfer-encoding') !== undefined) return countStream(c, next);
  return Number.parseInt(length, 10) > MAX_BODY_BYTES ? tooLarge(c) : next();
};

/**
 * Hono's bodyLimit reads the whole stream before calling `next`: a failure before then is the
 * body's (the client went away mid-chunk), one after it is the handler's own.
 */
const countStream: MiddlewareHandler<AppEnv> = async function countStream(c, next) {
  let read = false;
  try {
    return await limitStream(c, () => ((read = true), next()));
  } catch (cause) {
    if (read) throw cause;
    throw new BodyReadError('the request body could not be read to its end', { cause });
  }
};

/**
 * CORS only for the origins that CORS_ORIGINS lists; with none listed no CORS header is ever sent
 * and browsers keep other sites' pages from reading any answer.
 */
const corsForListedOrigins = cors({
  origin: (origin, c: AppContext) => (c.get('deps').config.corsOrigins.includes(origin) ? origin : null),
  allowMethods: ['GET', 'POST', 'DELETE'],
  allowHeaders: ['Content-Type', 'Authorization', DEVICE_HEADER],
  maxAge: 600,
});

/** CORS's answer to a preflight becomes the response, as it would were CORS a middleware of its own. */
async function corsFor(c: AppContext, next: () => Promise<void>): Promise<void> {
  const answered = await corsForListedOrigins(c, next);
  if (answered && !c.finalized) c.res = answered;
}

/** Every endpoint; the document lists them in this order. */
const ENDPOINTS = [
  healthEndpoint,
  registerEndpoint,
  activateEndpoints,
  loginEndpoint,
  loginMfaEndpoint,
  resendActivationEndpoint,
  forgotPasswordEndpoint,
  resetPasswordEndpoints,
  homeEndpoints,
  devMailEndpoint,
  sessionEndpoints,
  sessionsEndpoints,
  devicesEndpoints,
  changePasswordEndpoint,
  changeEmailEndpoint,
  confirmEmailEndpoints,
  undoEmailChangeEndpoints,
  deleteAccountEndpoint,
  mfaEndpoints,
];

export function createApp(resolveDeps: (c: AppContext) => Deps) {
  const app = createRouter();

  // The routes that answer people with pages, as their declarations say (offersPages among their
  // middleware), marked again before any shared middleware runs, so that even a failure there
  // answers with a page.
  for (const { method, path, mode } of pageRoutesOf(ENDPOINTS)) app.on(method, path, offersPages(mode));

  // One middleware for what every request needs, rather than one for each need: every layer of
  // Hono's chain is an async call and its promises on every request. A GET has no body.
  app.use(async function prepareRequest(c, next) {
    const deps = resolveDeps(c);
    const client = deps.clientAddress(c);
    const path = c.req.path;
    c.set('deps', deps);
    c.set('client', client);
    // Every security event names the client it came from and the endpoint it reached.
    c.set('log', (event, fields) => deps.log(event, { ...fields, client, path }));
    const inner = deps.config.corsOrigins.length === 0 ? next : () => corsFor(c, next);
    const answered = await (c.req.method === 'GET' || c.req.method === 'HEAD' ? inner() : limitBody(c, inner));
    // The responder makes each answer with the shared headers (responseWith); an answer made any
    // other way (Hono's own, a route's c.json) gets them here, once everything inside has run.
    // (What a middleware returns is its answer only if it is a Response: Hono's next() gives the context.)
    withResponseHeaders(answered instanceof Response ? answered : c.res);
    return answered;
  });

  for (const endpoints of ENDPOINTS) app.route('/', endpoints);

  app.openAPIRegistry.registerComponent('securitySchemes', BEARER_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    description: 'The session token from POST /login ("id.secret"); opaque, revocable, stored only as a hash',
  });

  // The document as this server runs, built from its configuration (lib/http/openapi-document.ts).
  app.openapi(documentRoute, function serveDocument(c) {
    return c.json(documentFor(app, c.get('deps').config), 200);
  });

  // A path the document lists, asked with a method it does not list: 405 with the ones it does.
  // A last route rather than app.notFound: mounted in a host's app (app.route('/auth', app)),
  // Hono would answer with the host's notFound, and every path under the prefix is Latchkey's.
  app.all('*', function answerNoRoute(c) {
    // The document's paths are below the prefix this app is mounted at ('/' when it is not).
    const prefix = basePath(c).replace(/\/$/, '');
    const allowed = methodsAt(app, c.req.path.slice(prefix.length) || '/');
    return respondEdge(c, allowed.length > 0 ? { kind: 'method-not-allowed', allowed } : { kind: 'not-found' });
  });

  app.onError(async function answerFailure(error, c) {
    if (error instanceof HTTPException) {
      if (error.status === 413) return respondEdge(c, { kind: 'body-too-large' });
      return respondEdge(c, { kind: 'malformed-body', detail: "Send well-formed JSON (or the page's form)." });
    }
    const log = c.get('log') ?? c.get('deps')?.log ?? (() => undefined);
    if (error instanceof BodyReadError) {
      // The client broke off (or garbled) its body while it was read. On Node, when its connection
      // closed under it, the HTTP parser has logged it as bad_request already (functions/node-http.ts);
      // elsewhere (workerd, a stream that failed) this is the one line. Nobody may be left to answer.
      if (!clientWentAway(c, error.cause)) log('bad_request', { reason: 'body-cut-off', status: 400 });
      return respondEdge(c, { kind: 'malformed-body', detail: 'The request body was cut off.' });
    }
    if (clientWentAway(c, error)) return respondEdge(c, { kind: 'malformed-body', detail: 'The request body was cut off.' });
    if (error instanceof DatabaseUnavailableError) {
      log('database_unavailable', { reason: error.cause instanceof Error ? error.cause.name : 'unknown' });
      return respondEdge(c, { kind: 'unavailable' });
    }
    if (error instanceof HashQueueFullError) {
      log('hash_queue_full', {});
      return respondEdge(c, { kind: 'busy' });
    }
    log('internal_error', { reason: error instanceof Error ? error.name : 'unknown' });
    return respondEdge(c, { kind: 'internal' });
  });

  return app;
}
