/**
 * POST /forgot-password says nothing about an address, however it is asked: as JSON, as the page's
 * form, with a browser's Accept header, and once the asking client has spent its mail allowance for
 * the address. Every answer is compared whole, status, every header and body, as
 * tests/mail-allowance.test.ts does for register and resend.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { Database, RunResult, SqlValue, Statement } from '../lib/storage/db.ts';
import { createHarness, GOOD_PASSWORD, type Harness } from './support/harness.ts';

const ADDRESSES = { unknown: 'nobody@example.com', pending: 'pending@example.com', active: 'active@example.com' };
const PROBER = '203.0.113.66';
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

/** Everything a client sees of an answer: status, every header, body. */
async function answer(res: Response) {
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text() };
}

const VARIANTS: Array<[string, (h: Harness, email: string) => Promise<Response>, RegExp]> = [
  ['JSON', (h, email) => h.post('/forgot-password', { email }), /^application\/json/],
  ['JSON from a browser', (h, email) => h.post('/forgot-password', { email }, { Accept: BROWSER_ACCEPT }), /^text\/html/],
  ['page form', (h, email) => h.post('/forgot-password', `email=${encodeURIComponent(email)}`, FORM), /^text\/html/],
  ['page form from a browser', (h, email) => h.post('/forgot-password', `email=${encodeURIComponent(email)}`, { ...FORM, Accept: BROWSER_ACCEPT }), /^text\/html/],
];

describe(`forgot-password answers alike for every address, however asked (${backend.name})`, () => {
  it('unknown, pending and active: byte-identical answers as JSON, form and for a browser, under and over the mail allowance', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600', LIMIT_FORGOT_PER_CLIENT: 'off' });
    h.client.address = '198.51.100.5';
    await h.registerAndGetToken(ADDRESSES.pending);
    await h.createActiveAccount(ADDRESSES.active);
    h.client.address = PROBER;
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const mailsTo = (email: string) => h.mails.filter((m) => m.to === email).map((m) => m.template);

    for (const [variant, send, type] of VARIANTS) {
      h.clock.now += 3600_000; // a fresh allowance for each way of asking
      const before = Object.fromEntries(Object.entries(ADDRESSES).map(([k, email]) => [k, mailsTo(email).length]));
      const ask = async () => {
        const seen: Record<string, Awaited<ReturnType<typeof answer>>> = {};
        for (const [kind, email] of Object.entries(ADDRESSES)) seen[kind] = await answer(await send(h, email));
        await settle();
        return seen;
      };
      const under = await ask();
      expect(mailsTo(ADDRESSES.unknown), variant).toHaveLength(before.unknown!);
      expect(mailsTo(ADDRESSES.pending).slice(before.pending), variant).toEqual(['activation']);
      expect(mailsTo(ADDRESSES.active).slice(before.active), variant).toEqual(['password-reset']);
      const over = await ask(); // this client's allowance for both addresses is spent
      expect(mailsTo(ADDRESSES.pending).slice(before.pending), `${variant}, over`).toEqual(['activation']);
      expect(mailsTo(ADDRESSES.active).slice(before.active), `${variant}, over`).toEqual(['password-reset']);

      const first = under.unknown!;
      expect(first.status, variant).toBe(202);
      expect(first.headers.find(([name]) => name === 'content-type')?.[1], variant).toMatch(type);
      expect(first.headers.map(([name]) => name), variant).not.toContain('retry-after');
      for (const [kind, seen] of [...Object.entries(under), ...Object.entries(over).map(([k, v]) => [`${k}, over`, v] as const)]) {
        expect(seen, `${variant}: ${kind}`).toEqual(first);
      }
    }
    // The accounts are as they were: the probe changed no password and activated nothing.
    expect((await h.post('/login', { email: ADDRESSES.active, password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: ADDRESSES.pending, password: GOOD_PASSWORD })).status).toBe(401);
  });
});

/**
 * Which writes changed rows, and whether each was durable (waits for an fsync on Node) or soft
 * (lib/storage/db.ts): a trip that changed nothing commits nothing and costs no fsync, so the
 * number of durable trips that changed rows is what a branch's time depends on.
 */
interface Commits {
  durable: number;
  soft: number;
  /** The last durable trip of the request changed rows: the one that every branch must commit. */
  lastDurableChanged: boolean;
}

function recordingCommits(db: Database, seen: Commits): Database {
  const over = (inner: Database, kind: 'durable' | 'soft'): Database => {
    const note = (changed: boolean) => {
      if (changed) seen[kind] += 1;
      if (kind === 'durable') seen.lastDurableChanged = changed;
    };
    const isWrite = (sql: string) => /^\s*(insert|update|delete)\b/i.test(sql);
    const wrap = (sql: string, stmt: Statement): Statement & { inner: Statement } => ({
      inner: stmt,
      bind: (...values: SqlValue[]) => wrap(sql, stmt.bind(...values)),
      async first<T>() {
        const { results } = await stmt.all<T>();
        if (isWrite(sql)) note(results.length > 0);
        return results[0] ?? null;
      },
      async all<T>() {
        const out = await stmt.all<T>();
        if (isWrite(sql)) note(out.results.length > 0);
        return out;
      },
      async run() {
        const out = await stmt.run();
        if (isWrite(sql)) note(out.meta.changes > 0);
        return out;
      },
    });
    return {
      prepare: (sql) => wrap(sql, inner.prepare(sql)),
      async batch(statements): Promise<RunResult[]> {
        const out = await inner.batch(statements.map((s) => (s as Statement & { inner: Statement }).inner));
        note(out.some((r) => r.meta.changes > 0));
        return out;
      },
    };
  };
  return { ...over(db, 'durable'), ...(db.soft ? { soft: over(db.soft, 'soft') } : {}) };
}

describe(`forgot-password and resend cost the same durable writes for every address (${backend.name})`, () => {
  it('unknown, pending and active, under and over the mail allowance: one durable commit each, every other write soft', async () => {
    const seen: Commits = { durable: 0, soft: 0, lastDurableChanged: false };
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '2/3600' }, (db) => recordingCommits(db, seen));
    h.client.address = '198.51.100.5';
    await h.registerAndGetToken(ADDRESSES.pending);
    await h.createActiveAccount(ADDRESSES.active);
    h.clock.now += 3600_000;
    h.client.address = PROBER;
    const soft = Boolean(h.db.soft);
    for (const path of ['/forgot-password', '/resend-activation']) {
      // Three rounds from one client: under its allowance, at its end, over it.
      for (let round = 0; round < 3; round++) {
        for (const [kind, email] of Object.entries(ADDRESSES)) {
          Object.assign(seen, { durable: 0, soft: 0, lastDurableChanged: false });
          // The request's own writes: the courier's, which send its mail after the answer, wait.
          h.later.hold = true;
          expect((await h.post(path, { email })).status).toBe(202);
          const what = `${path} ${kind}, round ${round + 1}`;
          // The flow's last write, its batch, commits on every branch, on both backends ...
          expect(seen.lastDurableChanged, what).toBe(true);
          // ... and where the driver has soft writes (sql.js) it is the only write that waits for
          // an fsync: the counters before it are soft and reach the disk with its fsync.
          if (soft) expect(seen.durable, what).toBe(1);
          h.later.hold = false;
          await h.later.settled();
        }
      }
      h.clock.now += 3600_000;
    }
  });
});
