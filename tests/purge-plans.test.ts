// Every statement of the purge finds its rows through an index: EXPLAIN QUERY PLAN of each, as
// the purge itself prepares it (a recording Database), shows no SCAN of a table.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { Database } from '../lib/storage/db.ts';
import { purge } from '../lib/flows/purge.ts';

describe(`purge query plans (${backend.name})`, () => {
  it('no purge statement scans a table: each term of each OR has its index', async () => {
    const db = await backend.freshDatabase();
    const prepared: string[] = [];
    const recording: Database = { prepare: (sql) => (prepared.push(sql), db.prepare(sql)), batch: (s) => db.batch(s) };
    await purge(recording, Date.UTC(2026, 0, 1), 3600);
    expect(prepared).toHaveLength(7); // registrations, throttle, devices, resets, email changes, sessions, challenges: one slice each, nothing to delete
    for (const sql of prepared) {
      const binds = Math.max(...[...sql.matchAll(/\?(\d)/g)].map((m) => Number(m[1])));
      const { results } = await db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...Array.from({ length: binds }, () => 1))
        .all<{ detail: string }>();
      const plan = results.map((r) => r.detail);
      expect(plan.filter((step) => step.startsWith('SCAN')), `${sql}\n${plan.join('\n')}`).toEqual([]);
      expect(plan.some((step) => step.startsWith('SEARCH')), plan.join('\n')).toBe(true);
    }
    expect(prepared.at(-2)).toContain('FROM sessions');
    expect(prepared.at(-1)).toContain('FROM mfa_challenges');
  });
});
