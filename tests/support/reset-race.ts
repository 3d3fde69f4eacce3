/**
 * The reset race that tests/races.test.ts runs in memory and tests/node-only/file-races.test.ts on
 * a file: one confirmation per password at once, spread over the account's reset links. Asserts
 * what must hold on any database and returns the winning password.
 */
import { expect } from 'vitest';
import type { FaultPlan } from './faults.ts';
import type { Harness } from './harness.ts';

export async function confirmResetsAtOnce(h: Harness, plan: FaultPlan, links: string[], passwords: string[]): Promise<string> {
  const mailsBefore = h.mails.length;
  const eventsBefore = h.events.length;
  plan.armed = true;
  const attempts = passwords.map((password, i) => ({ password, token: links[i % links.length]! }));
  const results = await Promise.all(attempts.map(({ token, password }) => h.post('/reset-password', { token, password })));
  const resetBatches = plan.batches.filter((b) => /^UPDATE accounts SET password_hash/.test(b.sql[0] ?? ''));
  expect(resetBatches.length).toBeGreaterThan(1); // the race was real: several confirmations reached the write
  expect(resetBatches.filter((b) => b.changes[0] === 1)).toHaveLength(1);
  // The losers' batches wrote nothing at all: every statement after the first is guarded by the winner's hash.
  for (const batch of resetBatches.filter((b) => b.changes[0] === 0)) expect(batch.changes.every((c) => c === 0)).toBe(true);
  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 200)).toHaveLength(1);
  expect(statuses.filter((s) => s !== 200)).toEqual(Array(passwords.length - 1).fill(400));
  // Each loser is logged as a refused reset, whether it lost at the link's lookup or in the batch.
  const refused = h.events.slice(eventsBefore).filter((e) => e.event === 'password_reset_refused');
  expect(refused).toEqual(Array(passwords.length - 1).fill(expect.objectContaining({ reason: 'invalid' })));
  expect(h.mails.slice(mailsBefore).filter((m) => m.template === 'password-changed')).toHaveLength(1);
  return attempts[statuses.indexOf(200)]!.password;
}
