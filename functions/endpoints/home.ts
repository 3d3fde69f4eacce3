/**
 * GET / — the demo page, and GET /demo.js — its script. Served by both runtimes: the page only
 * calls the public JSON API, so it shows nothing that curl could not, and a deployment that does
 * not want it can leave / unrouted at its edge. Its CSP is the app's strict one plus
 * `script-src 'self'` and `connect-src 'self'`, set here (the app's headers go on before the
 * handler runs, so a handler's own CSP replaces its default).
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { offersPages } from '../../lib/http/media.ts';
import { responsesOf } from '../../lib/http/openapi.ts';
import { respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { DEMO_CSP, demoPage } from '../../lib/pages/demo-page.ts';
import { DEMO_SCRIPT } from '../../lib/pages/demo-script.ts';
import { mailboxFor, MAILBOX_PATH } from './dev-mail.ts';

/** What the demo page shows: the password rule, and the mailbox link in development mode. */
interface DemoView {
  kind: 'demo';
  minLength: number;
  mailbox: string | undefined;
}

const PAGE_ANSWERS: AnswerTable<DemoView> = {
  demo: { status: 200, description: 'The demo page', page: async (o) => ({ status: 200, body: await demoPage(o.minLength, o.mailbox) }) },
};

const PAGE_MIDDLEWARE = [offersPages('always')];

const pageRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'showDemoPage',
  summary: 'A demo page for people: register, log in and ask for a new link through this API',
  description: 'Forms that call the JSON API with fetch and show its answers in words. It shows nothing that curl could not.',
  tags: ['pages'],
  middleware: PAGE_MIDDLEWARE,
  responses: responsesOf(PAGE_ANSWERS, { middleware: PAGE_MIDDLEWARE }),
});

const scriptRoute = createRoute({
  method: 'get',
  path: '/demo.js',
  operationId: 'getDemoScript',
  summary: "The demo page's script",
  description: 'A constant script, pinned by the page with Subresource Integrity.',
  tags: ['pages'],
  responses: {
    200: { description: 'JavaScript for the demo page', content: { 'text/javascript': { schema: z.string() } } },
    ...responsesOf({}),
  },
});

export const homeEndpoints = createRouter()
  .openapi(pageRoute, async function showDemoPage(c) {
    c.set('headers', { 'Content-Security-Policy': DEMO_CSP });
    // Relative, like every link on the pages, so that a PUBLIC_URL path prefix keeps working.
    const mailbox = mailboxFor(c) ? MAILBOX_PATH.slice(1) : undefined;
    return respond(c, PAGE_ANSWERS, { kind: 'demo', minLength: c.get('deps').config.passwordPolicy.minLength, mailbox }, undefined);
  })
  .openapi(scriptRoute, function serveDemoScript(c) {
    return c.body(DEMO_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' });
  });
