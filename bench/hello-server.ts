/**
 * The reference server for requests that hash nothing: Hono's "hello" on @hono/node-server, the
 * same framework, adapter and Node as Latchkey's server, with no middleware and no database.
 */
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.get('/', (c) => c.text('Hello Hono!'));

serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 0), hostname: '127.0.0.1' }, (info) => {
  console.log(`listening ${info.port}`);
});
process.on('SIGTERM', () => process.exit(0));
