/**
 * The reference server for requests that hash nothing: Hono's "hello" on @hono/node-server, the
 * same framework, adapter and Node as Latchkey's server, with no middleware and no database.
 * Two more routes compare the ways of limiting a body (bench/body-limit.ts): Hono's bodyLimit,
 * which asks for the body stream, and the check of a declared Content-Length that
 * functions/app.ts does first. Both read the body, as every POST endpoint does.
 */
import { serve } from '@hono/node-server';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';

const MAX = 16 * 1024;
const declaredLength: MiddlewareHandler = async (c, next) => {
  const length = c.req.header('content-length');
  if (length !== undefined && Number.parseInt(length, 10) > MAX) return c.text('too large', 413);
  await next();
};

const app = new Hono();
app.get('/', (c) => c.text('Hello Hono!'));
app.post('/body/hono-body-limit', bodyLimit({ maxSize: MAX }), async (c) => c.json(await c.req.json()));
app.post('/body/declared-length', declaredLength, async (c) => c.json(await c.req.json()));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`);
});
process.on('SIGTERM', () => process.exit(0));
