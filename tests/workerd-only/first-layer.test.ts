// The coarse first layer (issue 28): with a Workers Rate Limiting binding declared as RATE_LIMITER,
// a client over it is refused with 429 before the app runs, so before any D1 trip. A real binding
// from Miniflare (vitest.config.ts: TEST_RATE_LIMITER, 3 per 60 s), handed to the Worker's fetch.
import { createExecutionContext } from 'cloudflare:test';
import { backend } from '#backend';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { workerHandlers, type WorkerEnv } from '../../functions/worker-handlers.ts';
import type { Database } from '../../lib/storage/db.ts';

beforeEach(async () => {
  await backend.freshDatabase();
});

/** The D1 binding, counting the statements prepared on it. */
function counting(db: Database, count: { statements: number }): Database {
  return { prepare: (sql) => (count.statements++, db.prepare(sql)), batch: (statements) => db.batch(statements) };
}

describe('the first layer on Workers', () => {
  it('a client over RATE_LIMITER gets 429 before any D1 trip; another client, and GETs, go on', async () => {
    const count = { statements: 0 };
    const edge = { ...env, DB: counting(env.DB as unknown as Database, count), RATE_LIMITER: env.TEST_RATE_LIMITER } as unknown as WorkerEnv;
    const post = (client: string, email: string) =>
      workerHandlers.fetch(
        new Request('https://edge.example.test/forgot-password', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'CF-Connecting-IP': client },
          body: JSON.stringify({ email }),
        }),
        edge,
        createExecutionContext(),
      );
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const attacker = `203.0.113.${Math.floor(Math.random() * 200) + 1}`;
      const statuses: number[] = [];
      let refused: Response | undefined;
      for (let i = 0; i < 6; i++) {
        const before = count.statements;
        const res = await post(attacker, `victim${i}@example.com`);
        statuses.push(res.status);
        if (res.status === 429) {
          refused = res;
          expect(count.statements, 'a refused request asked D1 nothing').toBe(before);
        }
      }
      expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
      expect(statuses.slice(3)).toEqual([429, 429, 429]);
      expect(refused!.headers.get('retry-after')).toBe('60');
      expect(refused!.headers.get('content-type')).toBe('application/problem+json');
      expect(await refused!.json()).toMatchObject({ type: 'urn:latchkey:problem:too-many-requests', status: 429, retryAfter: 60 });
      expect(lines.map((l) => JSON.parse(l)).filter((l) => l.event === 'throttled' && l.rule === 'edge')).toHaveLength(3);

      // Another client is counted apart; a GET is not counted at all.
      expect((await post('198.51.100.77', 'someone@example.com')).status).toBe(202);
      const health = await workerHandlers.fetch(new Request('https://edge.example.test/health', { headers: { 'CF-Connecting-IP': attacker } }), edge, createExecutionContext());
      expect(health.status).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });
});
