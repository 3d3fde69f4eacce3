/** GET /health — up when the database answers. */
import { createRoute, z } from '@hono/zod-openapi';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { responsesOf } from '../../lib/http/openapi.ts';
import { respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';

const Healthy = z.object({ status: z.literal('ok') }).openapi('Health');

const ANSWERS: AnswerTable<{ kind: 'up' }> = {
  up: { status: 200, description: 'Serving, and the database answers', json: json(Healthy, () => ({ status: 'ok' as const })) },
};

const route = createRoute({
  method: 'get',
  path: '/health',
  operationId: 'checkHealth',
  summary: 'Liveness and database reachability',
  description: 'Up (200) when the server runs and its database answers a query; 503 when the database does not.',
  tags: ['service'],
  responses: responsesOf(ANSWERS, { edges: ['unavailable'] }),
});

export const healthEndpoint = createRouter().openapi(route, async function checkHealth(c) {
  await c.get('deps').db.prepare('SELECT 1 AS up').first();
  return respond(c, ANSWERS, { kind: 'up' }, undefined);
});
