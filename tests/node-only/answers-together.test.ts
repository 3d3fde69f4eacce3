// The Node server's answers leave at the end of the event loop's turn in which their requests
// arrived, together (functions/answers-together.ts), and never a turn later than they are ready.
// Then the same on the real server: answers to a burst of requests on many connections still
// come, each right, whatever path made them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answersTogether } from '../../functions/answers-together.ts';
import { NO_LIMITS } from '../../scripts/support/limits.ts';
import { spawnServer, stopNodeServer } from '../support/server-node.ts';

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const drainMicrotasks = async () => {
  for (let i = 0; i < 50; i++) await Promise.resolve();
};

describe('answersTogether', () => {
  it('an answer ready at once waits for the end of the turn, and then leaves', async () => {
    const answer = answersTogether(async (n: number) => n * 2);
    const seen: number[] = [];
    void answer(21).then((n) => seen.push(n));
    await drainMicrotasks();
    expect(seen).toEqual([]);
    await nextTurn();
    expect(seen).toEqual([42]);
  });

  it('the answers of one turn leave in the same check phase, one after the other', async () => {
    const answer = answersTogether(async (n: number) => {
      // Ready after different amounts of work within the turn.
      for (let i = 0; i < n; i++) await Promise.resolve();
      return n;
    });
    const order: string[] = [];
    void answer(1).then(() => order.push('first'));
    void answer(30).then(() => order.push('second'));
    // Queued after both requests arrived: it must find both answers gone.
    setImmediate(() => order.push('later immediate'));
    await drainMicrotasks();
    expect(order).toEqual([]);
    await nextTurn();
    expect(order).toEqual(['first', 'second', 'later immediate']);
  });

  it('an answer ready after its turn ended (a group commit, a hash) leaves at once, not a turn later', async () => {
    // Resolved in an immediate queued by the request itself, as the group commit does.
    const answer = answersTogether(() => new Promise<string>((resolve) => setImmediate(() => resolve('committed'))));
    const order: string[] = [];
    void answer().then((s) => order.push(s));
    setImmediate(() => order.push('immediate queued after the request'));
    await nextTurn();
    await nextTurn();
    expect(order).toEqual(['committed', 'immediate queued after the request']);
  });

  it('a request of a later turn waits for its own turn, not for one that has passed', async () => {
    const answer = answersTogether(async (s: string) => s);
    const order: string[] = [];
    await answer('first turn');
    void answer('second turn').then((s) => order.push(s));
    await drainMicrotasks();
    expect(order).toEqual([]);
    await nextTurn();
    expect(order).toEqual(['second turn']);
  });

  it('a failure passes through as it is', async () => {
    const answer = answersTogether(async () => {
      throw new Error('broken');
    });
    await expect(answer()).rejects.toThrow('broken');
  });
});

describe('answers together on the real server', () => {
  let dir: string;
  let server: ReturnType<typeof spawnServer>;
  let base: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-together-'));
    // No per-client limits: the burst comes from one address and must be answered, not refused.
    server = spawnServer(join(dir, 'accounts.sqlite'), NO_LIMITS);
    base = `http://127.0.0.1:${await server.started}`;
  });
  afterAll(async () => {
    await stopNodeServer(server);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a burst of reads, writes and refusals on many connections gets every answer, each its own', async () => {
    const requests = Array.from({ length: 60 }, (_, i) => {
      if (i % 3 === 0) return fetch(`${base}/health`).then((r) => [r.status, 200] as const);
      if (i % 3 === 1) return fetch(`${base}/session`, { headers: { authorization: 'Bearer nope.nope' } }).then((r) => [r.status, 401] as const);
      return fetch(`${base}/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: 'A'.repeat(43), password: 'correct horse battery staple' }),
      }).then((r) => [r.status, 400] as const);
    });
    const answers = await Promise.all(requests);
    expect(answers.map(([got]) => got)).toEqual(answers.map(([, expected]) => expected));
  });
});
