// Changes of address racing each other, their undo and the deletion of the account, fired together
// with Promise.all (as tests/races.test.ts does for registrations and resets): one order wins, and
// the rows agree with it. Each test checks that the race happened (more than one batch reached the
// write), so that a serialised run could not pass for a race.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { faultPlan, faultyDatabase } from './support/faults.ts';
import { createHarness, GOOD_PASSWORD, NO_LIMITS, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const N = 20;

async function racingHarness() {
  const plan = faultPlan();
  const h = await createHarness(NO_LIMITS, faultyDatabase(plan));
  const count = async (sql: string, ...values: string[]) => (await h.db.prepare(sql).bind(...values).first<{ n: number }>())!.n;
  return { plan, h, count };
}

const link = (h: Harness, template: string, to: string) => tokenFromLink(h.mails.filter((m) => m.template === template && m.to === to).at(-1)?.link);
const ask = async (h: Harness, session: string, newEmail: string) => {
  expect((await h.bearer('POST', '/change-email', session, { password: GOOD_PASSWORD, newEmail })).status).toBe(202);
  return link(h, 'email-change', newEmail);
};
/** Batches of confirmations (their first statement moves an account) and of undos, that ran while armed. */
const batchesOf = (plan: ReturnType<typeof faultPlan>, first: RegExp) => plan.batches.filter((b) => first.test(b.sql[0] ?? ''));

describe(`change-of-address races (${backend.name})`, () => {
  it(`${N} accounts confirm the same new address at once: exactly one holds it, every other gets 409 and keeps its own`, async () => {
    const { plan, h, count } = await racingHarness();
    const tokens: string[] = [];
    for (let i = 0; i < N; i++) {
      await h.createActiveAccount(`racer${i}@example.com`);
      tokens.push(await ask(h, await h.logIn(`racer${i}@example.com`), 'prize@example.com'));
    }
    plan.armed = true;
    const answers = await Promise.all(tokens.map((token) => h.post('/confirm-email', { token })));
    plan.armed = false;
    expect(batchesOf(plan, /^UPDATE accounts SET email/).length).toBeGreaterThan(1);
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, ...Array(N - 1).fill(409)]);
    expect(await count('SELECT count(*) AS n FROM accounts WHERE email_key = ?', 'prize@example.com')).toBe(1);
    expect(await count("SELECT count(*) AS n FROM accounts WHERE email_key LIKE 'racer%'")).toBe(N - 1);
    expect(h.mails.filter((m) => m.template === 'email-changed')).toHaveLength(1);
  });

  it(`the same link posted ${N} times at once moves the account once and mails one undo link`, async () => {
    const { plan, h, count } = await racingHarness();
    await h.createActiveAccount(OWNER);
    const token = await ask(h, await h.logIn(OWNER), 'once@example.com');
    plan.armed = true;
    const answers = await Promise.all(Array.from({ length: N }, () => h.post('/confirm-email', { token })));
    plan.armed = false;
    expect(batchesOf(plan, /^UPDATE accounts SET email/).length).toBeGreaterThan(1);
    expect(answers.map((r) => r.status).sort()).toEqual([200, ...Array(N - 1).fill(400)]);
    expect(h.mails.filter((m) => m.template === 'email-changed')).toHaveLength(1);
    expect(await count('SELECT count(*) AS n FROM email_changes WHERE undo_hash IS NOT NULL')).toBe(1);
  });

  it('a confirmation racing the undo of the change before it: in either order the account ends at its first address, with nothing pending', async () => {
    for (const order of ['confirm first', 'undo first'] as const) {
      const { plan, h, count } = await racingHarness();
      await h.createActiveAccount(OWNER);
      const session = await h.logIn(OWNER);
      expect((await h.post('/confirm-email', { token: await ask(h, session, 'second@example.com') })).status).toBe(200);
      const undo = link(h, 'email-changed', OWNER);
      const confirm = await ask(h, session, 'third@example.com');
      plan.armed = true;
      const requests = [() => h.post('/confirm-email', { token: confirm }), () => h.post('/undo-email-change', { token: undo })];
      const [first, second] = order === 'confirm first' ? requests : [...requests].reverse();
      const answers = await Promise.all([first!(), second!()]);
      plan.armed = false;
      expect(plan.batches.length, order).toBe(2);
      expect(answers.map((r) => r.status)).toContain(200);
      expect(await count('SELECT count(*) AS n FROM accounts WHERE email_key = ?', OWNER), order).toBe(1);
      expect(await count('SELECT count(*) AS n FROM email_changes WHERE used_at IS NULL'), order).toBe(0);
      // No undo link is left that could move the account away from its owner again.
      expect(await count('SELECT count(*) AS n FROM email_changes WHERE undo_hash IS NOT NULL AND undone_at IS NULL'), order).toBe(0);
      expect(await count('SELECT count(*) AS n FROM sessions WHERE revoked_at IS NULL'), order).toBe(0);
      expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status, order).toBe(200);
    }
  });

  it('a confirmation racing the deletion of the account: in either order no account, no change of address and no held address is left', async () => {
    for (const order of ['confirm first', 'delete first'] as const) {
      const { plan, h, count } = await racingHarness();
      await h.createActiveAccount(OWNER);
      const session = await h.logIn(OWNER);
      const confirm = await ask(h, session, 'moved@example.com');
      plan.armed = true;
      const requests = [() => h.post('/confirm-email', { token: confirm }), () => h.bearer('POST', '/delete-account', session, { password: GOOD_PASSWORD })];
      const [first, second] = order === 'confirm first' ? requests : [...requests].reverse();
      const answers = await Promise.all([first!(), second!()]);
      plan.armed = false;
      expect(plan.batches.length, order).toBeGreaterThanOrEqual(2);
      expect(answers.map((r) => r.status), order).toContain(204);
      expect(await count('SELECT count(*) AS n FROM accounts'), order).toBe(0);
      expect(await count('SELECT count(*) AS n FROM email_changes'), order).toBe(0);
      // Both addresses are free again.
      expect((await h.post('/register', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(202);
      expect(await count('SELECT count(*) AS n FROM registrations WHERE email_key = ? AND consumed_at IS NULL', OWNER), order).toBe(1);
    }
  });
});
