/**
 * GET / — the demo page, and GET /demo.js — its script. Served by both runtimes: the page only
 * calls the public JSON API, so it shows nothing that curl could not, and a deployment that does
 * not want it can leave / unrouted at its edge. Its CSP is the app's strict one plus
 * `script-src 'self'` and `connect-src 'self'`, set here (the app's headers go on before the handler runs, so a handler's own CSP replaces its default).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { DEMO_CSP, demoPage } from '../../lib/pages/demo-page.ts';
import { DEMO_SCRIPT } from '../../lib/pages/demo-script.ts';
import { createRouter, pageResponses, problemResponses } from '../../lib/http.ts';
import { mailboxFor, MAILBOX_PATH } from './dev-mail.ts';

const pageRoute = createRoute({
  method: 'get',
  path: '/',
  summary: 'A demo page for people: register, log in and ask for a new link through this API',
  tags: ['pages'],
  responses: {
    200: { description: 'The demo page', content: { 'text/html': { schema: z.string() } } },
    ...pageResponses(500),
  },
});

const scriptRoute = createRoute({
  method: 'get',
  path: '/demo.js',
  summary: "The demo page's script",
  tags: ['pages'],
  responses: {
    200: { description: 'JavaScript for the demo page', content: { 'text/javascript': { schema: z.string() } } },
    ...problemResponses(),
  },
});

export const home = createRouter()
  .openapi(pageRoute, async (c) => {
    c.header('Content-Security-Policy', DEMO_CSP);
    // Relative, like every link on the pages, so that a PUBLIC_URL path prefix keeps working.
    const mailbox = mailboxFor(c) ? MAILBOX_PATH.slice(1) : undefined;
    return c.html(await demoPage(c.var.deps.config.passwordPolicy.minLength, mailbox), 200);
  })
  .openapi(scriptRoute, (c) => c.body(DEMO_SCRIPT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
