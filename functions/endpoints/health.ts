/** GET /health — up when the database answers. */
import { createRoute, z } from '@hono/zod-openapi';
import { createRouter, problemResponses } from '../../lib/http.ts';

const Healthy = z.object({ status: z.literal('ok') }).openapi('Health');

const route = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Liveness and database reachability',
  responses: {
    200: { description: 'Serving, and the database answers', content: { 'application/json': { schema: Healthy } } },
    ...problemResponses(503),
  },
});

export const health = createRouter().openapi(route, async (c) => {
  await c.var.deps.db.prepare('SELECT 1 AS up').first();
  return c.json({ status: 'ok' as const }, 200);
});
