/**
 * The reference server for requests that hash nothing: Hono's "hello" on @hono/node-server, the
 * same framework, adapter and Node as Latchkey's server, with no middleware and no database.
 * Two more routes compare the ways of limiting a body (bench/body-limit.ts): Hono's bodyLimit,
 * which asks for the body stream, and the check of a declared Content-Length that
 * functions/app.ts does first. Both read the body, as every POST endpoint does.
 *
 * `/page` answers the activation page of the bench's first pending registration (bench/pending-link.ts),
 * rendered once by Latchkey's own page code with Latchkey's headers: what Node and the adapter
 * charge for that page's bytes and headers alone, the floor under figure 3's page row.
 * bench/no-hash.ts checks that it is the same answer as Latchkey's before it measures.
 */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RESPONSE_HEADER_RECORD } from '../lib/http/security-headers.ts';
import { fillBotCheckSlots } from '../lib/pages/bot-check-widget.ts';
import { confirmPage } from '../lib/pages/pages.ts';
import { BENCH_PAGE_TOKEN, pendingEmail } from './pending-link.ts';

const MAX = 16 * 1024;
const declaredLength: MiddlewareHandler = async (c, next) => {
  const length = c.req.header('content-length');
  if (length !== undefined && Number.parseInt(length, 10) > MAX) return c.text('too large', 413);
  await next();
};

const app = new Hono();
app.get('/', (c) => c.text('Hello Hono!'));
const page = await confirmPage(pendingEmail(0), BENCH_PAGE_TOKEN);
const pageBody = fillBotCheckSlots(page.body, undefined);
const pageHeaders = { ...RESPONSE_HEADER_RECORD, 'Content-Type': 'text/html; charset=UTF-8' };
app.get('/page', () => new Response(pageBody, { status: page.status, headers: pageHeaders }));
app.post('/body/hono-body-limit', bodyLimit({ maxSize: MAX }), async (c) => c.json(await c.req.json()));
app.post('/body/declared-length', declaredLength, async (c) => c.json(await c.req.json()));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`);
});
process.on('SIGTERM', () => process.exit(0));
