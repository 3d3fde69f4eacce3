// The outbox (issue 22) when the transport fails: every request still answers at once, its mail
// waits in the outbox, sealed, and goes out once the transport is back, without another request;
// a refusal for good or a link that would expire first is given up with an event; a flood cannot
// grow the outbox past its cap, nor push out the mails of those who asked first.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { courierOf } from '../lib/deps.ts';
import { deliverQueued, drainOutbox, outboxTickMs } from '../lib/mail/courier.ts';
import { MailRefusedError, MailTransportError, type MailTransport, type OutgoingMail } from '../lib/mail/transport.ts';
import type { Database } from '../lib/storage/db.ts';
import { createHarness, dump, GOOD_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';
import { schemaQuery } from './support/schema-query.ts';

const EMAIL = 'ada@example.com';

const broken: Record<string, () => MailTransport> = {
  throws: () => ({
    name: 'smtp',
    send() {
      throw new Error('mailer exploded hunter2');
    },
  }),
  rejects: () => ({ name: 'smtp', send: async () => Promise.reject(new Error('mailer said no hunter2')) }),
  'never answers': () => ({ name: 'smtp', send: () => new Promise<void>(() => {}) }),
};

const outboxRows = async (h: Harness) => (await h.db.prepare('SELECT id, template, domain, attempts, next_attempt_at AS due FROM mail_outbox ORDER BY created_at').all<{ id: string; template: string; domain: string; attempts: number; due: number }>()).results;
const eventsNamed = (h: Harness, name: string) => h.events.filter((e) => e.event === name);

/** Every row of every table of the application, as text: what a copy of the database would hold. */
async function everyRow(h: Harness): Promise<string> {
  const tables = (await h.db.prepare(schemaQuery).all<{ type: string; name: string }>()).results.filter((o) => o.type === 'table');
  const rows = await Promise.all(tables.map(async ({ name }) => JSON.stringify((await h.db.prepare(`SELECT * FROM ${name}`).all()).results)));
  return rows.join('\n');
}

/** Moves the clock to the row's due time and runs the courier's drain, as the timer or cron would. */
async function drainWhenDue(h: Harness) {
  const [row] = await outboxRows(h);
  if (row) h.clock.now = Math.max(h.clock.now, row.due);
  return drainOutbox(courierOf(h.deps));
}

describe(`a failing mail transport (${backend.name})`, () => {
  for (const [kind, transport] of Object.entries(broken)) {
    it(`registration stands when the transport ${kind}, and the mail goes out once it is back, with no new request`, async () => {
      const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
      const working = h.deps.transport;
      h.deps.transport = transport();

      const res = await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ status: 'pending' });
      const stored = await h.db.prepare('SELECT count(*) AS n FROM registrations').first<{ n: number }>();
      expect(stored?.n).toBe(1);
      const [failure] = eventsNamed(h, 'mail_failed');
      expect(failure).toMatchObject({ template: 'activation', domain: 'example.com', reason: kind === 'never answers' ? 'MailTimeoutError' : 'Error', attempts: 1 });
      expect(JSON.stringify(h.events)).not.toMatch(/mailer|hunter2|token=/);
      const [waiting] = await outboxRows(h);
      expect(waiting).toMatchObject({ template: 'activation', domain: 'example.com', attempts: 1, due: h.clock.now + 10_000 });

      // Still down at the first retry: the next delay doubles.
      expect(await drainWhenDue(h)).toMatchObject({ retry: 1 });
      expect((await outboxRows(h))[0]).toMatchObject({ attempts: 2, due: h.clock.now + 20_000 });

      h.deps.transport = working;
      expect(await drainWhenDue(h)).toMatchObject({ sent: 1 });
      expect(await outboxRows(h)).toEqual([]);
      expect(h.mails).toHaveLength(1);
      const token = tokenFromLink(h.mails[0]!.link);
      expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
      expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(200);
      // Sent once: nothing is left to send again.
      expect(await drainOutbox(courierOf(h.deps))).toMatchObject({ sent: 0 });
      expect(h.mails).toHaveLength(1);
    });
  }

  it('an active address still gets its 202, nothing of the account changes, and its notice waits', async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
    await h.createActiveAccount(EMAIL);
    const before = await dump(h.db);
    h.deps.transport = broken['never answers']!();
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/resend-activation', { email: EMAIL })).status).toBe(202);
    expect(await dump(h.db)).toBe(before);
    expect(eventsNamed(h, 'mail_failed').map((e) => e.template)).toEqual(['already-registered', 'already-active']);
    expect((await outboxRows(h)).map((r) => r.template)).toEqual(['already-registered', 'already-active']);
  });

  it('a transport that refuses for good: the mail is given up at once, with an event, and its row goes', async () => {
    const h = await createHarness();
    h.deps.transport = { name: 'smtp', send: async () => Promise.reject(new MailRefusedError('550 no such mailbox')) };
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    // A transport's own words go to the log (they name what happened, never a secret).
    expect(eventsNamed(h, 'mail_given_up')).toEqual([
      expect.objectContaining({ template: 'activation', domain: 'example.com', reason: 'refused', attempts: 1, detail: '550 no such mailbox' }),
    ]);
    expect(eventsNamed(h, 'mail_failed')).toEqual([]);
    expect(await outboxRows(h)).toEqual([]);
  });

  it('a transport down for longer than the link lives: retried with doubling delays, then given up before the link expires', async () => {
    const h = await createHarness({ TOKEN_TTL_SECONDS: '600', MAIL_RETRY_SECONDS: '60' });
    h.deps.transport = broken.rejects!();
    const start = h.clock.now;
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    const dues: number[] = [];
    while ((await outboxRows(h)).length > 0) {
      dues.push((await outboxRows(h))[0]!.due - start);
      await drainWhenDue(h);
    }
    // 60 s, then 60 + 120, then 60 + 120 + 240: the next (480 s later) would be past the 600 s link.
    expect(dues).toEqual([60_000, 180_000, 420_000]);
    expect(eventsNamed(h, 'mail_given_up')).toEqual([expect.objectContaining({ reason: 'expired', attempts: 4 })]);
    expect(eventsNamed(h, 'mail_failed')).toHaveLength(3);
  });

  it("a new row is its request's to send first: a drain leaves it until its claim time has passed, then sends it once", async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '1000' });
    h.later.hold = true; // the request's own send has not run (a crash would leave it so)
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect(await drainOutbox(courierOf(h.deps))).toMatchObject({ sent: 0 });
    // MAIL_TIMEOUT_MS and the claim's 5 s margin later, a timer or cron takes it.
    h.clock.now += 5_999;
    expect(await drainOutbox(courierOf(h.deps))).toMatchObject({ sent: 0 });
    h.clock.now += 1;
    expect(await drainOutbox(courierOf(h.deps))).toMatchObject({ sent: 1 });
    // The request's own send, late, finds it gone: one mail in all.
    h.later.hold = false;
    await h.later.settled();
    expect(h.mails).toHaveLength(1);
  });

  it('two couriers at the same row: one send, whichever claims it first', async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
    h.deps.transport = broken.rejects!();
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    const [row] = await outboxRows(h);
    h.clock.now = row!.due;
    let sends = 0;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    h.deps.transport = { name: 'smtp', send: async () => void (sends++, await held) };
    const first = deliverQueued(courierOf(h.deps), row!.id);
    const second = deliverQueued(courierOf(h.deps), row!.id);
    expect(await second).toBe('skipped');
    release();
    expect(await first).toBe('sent');
    expect(sends).toBe(1);
  });
});

describe(`the outbox at rest (${backend.name})`, () => {
  it('a copy of the database taken while a mail is being sent holds no link and no token', async () => {
    const h = await createHarness();
    const working = h.deps.transport;
    let copy = '';
    h.deps.transport = {
      name: 'smtp',
      async send(mail: OutgoingMail, signal: AbortSignal) {
        copy = await everyRow(h);
        await working.send(mail, signal);
      },
    };
    await h.createActiveAccount(EMAIL);
    const resetToken = await h.forgotAndGetToken(EMAIL);
    const activation = h.mails.find((m) => m.template === 'activation')!;
    expect(copy).toMatch(/"sealed":"v1\./); // the sealed row was there during the send
    for (const secret of [resetToken, tokenFromLink(activation.link), 'reset-password?token', 'activate?token']) expect(copy).not.toContain(secret);
    // And nothing is left once sent.
    expect(await outboxRows(h)).toEqual([]);
  });

  it('a row moved to another id, or sealed under another key, does not open: given up as unreadable', async () => {
    const h = await createHarness();
    h.deps.transport = broken.rejects!();
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/register', { email: 'bob@example.com', password: GOOD_PASSWORD })).status).toBe(202);
    const [ada, bob] = await outboxRows(h);
    // Bob's sealed body copied into Ada's row: the label (the row's id) no longer matches.
    await h.db.prepare('UPDATE mail_outbox SET sealed = (SELECT sealed FROM mail_outbox WHERE id = ?) WHERE id = ?').bind(bob!.id, ada!.id).run();
    h.deps.transport = { name: 'smtp', send: async () => undefined };
    h.clock.now += 60_000;
    expect(await drainOutbox(courierOf(h.deps))).toMatchObject({ sent: 1, 'given-up': 1 });
    expect(eventsNamed(h, 'mail_given_up')).toEqual([expect.objectContaining({ outbox: ada!.id, reason: 'unreadable' })]);
  });
});

describe(`a flood while the transport is down (${backend.name})`, () => {
  it('cannot grow the outbox past MAIL_OUTBOX_MAX, keeps the mails of those who asked first, and refuses nobody', async () => {
    const h = await createHarness({ MAIL_OUTBOX_MAX: '3', MAIL_TIMEOUT_MS: '50' });
    const working = h.deps.transport;
    h.deps.transport = broken.rejects!();
    const people = ['first@example.com', 'second@example.com', 'third@example.com'];
    for (const email of people) expect((await h.post('/register', { email, password: GOOD_PASSWORD })).status).toBe(202);
    // The flood: many addresses, many clients.
    for (let i = 0; i < 12; i++) {
      h.client.address = `198.51.100.${i}`;
      expect((await h.post('/register', { email: `flood${i}@example.org`, password: GOOD_PASSWORD })).status).toBe(202);
    }
    expect(await outboxRows(h)).toHaveLength(3);
    // What the cap bounds: a row, sealed body and all, stays under 2 KB (docs/reliability.md).
    const widest = await h.db.prepare('SELECT max(length(sealed) + length(id) + length(template) + length(domain) + 24) AS n FROM mail_outbox').first<{ n: number }>();
    expect(widest!.n).toBeLessThan(2048);
    expect(eventsNamed(h, 'mail_outbox_full')).toHaveLength(12);
    expect(eventsNamed(h, 'mail_outbox_full')[0]).toMatchObject({ template: 'activation', domain: 'example.org' });
    // The transport is back: the first three get their links, and they work.
    h.deps.transport = working;
    h.clock.now = (await outboxRows(h))[0]!.due;
    expect(await drainOutbox(courierOf(h.deps), 'timer')).toMatchObject({ sent: 3, more: false });
    expect(eventsNamed(h, 'outbox_drained')).toEqual([expect.objectContaining({ sent: 3, retry: 0, 'given-up': 0, trigger: 'timer' })]);
    expect(h.mails.map((m) => m.to)).toEqual(people);
    for (const [i, email] of people.entries()) {
      expect((await h.post('/activate', { token: tokenFromLink(h.mails[i]!.link), password: GOOD_PASSWORD })).status).toBe(200);
      expect((await h.post('/login', { email, password: GOOD_PASSWORD })).status).toBe(200);
    }
    // With room again, a flooded address that asks anew gets its link.
    expect((await h.post('/resend-activation', { email: 'flood0@example.org' })).status).toBe(202);
    expect(h.mails.at(-1)).toMatchObject({ to: 'flood0@example.org', template: 'activation' });
  });
});

describe(`the courier's edges (${backend.name})`, () => {
  it('aborts a send at MAIL_TIMEOUT_MS through its signal, and retries it', async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
    let aborted = false;
    h.deps.transport = {
      name: 'smtp',
      send: (_mail, signal) => new Promise<void>((_, reject) => signal.addEventListener('abort', () => ((aborted = true), reject(new Error('aborted'))))),
    };
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect(aborted).toBe(true);
    expect(eventsNamed(h, 'mail_failed')).toEqual([expect.objectContaining({ reason: 'MailTimeoutError' })]);
  });

  it('a link that would expire exactly at the next try is given up, not retried at its last moment', async () => {
    const h = await createHarness({ TOKEN_TTL_SECONDS: '180', MAIL_RETRY_SECONDS: '60' });
    h.deps.transport = broken.rejects!();
    const start = h.clock.now;
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect((await outboxRows(h))[0]!.due - start).toBe(60_000);
    // Failing again at 60 s: the next try would be at 60 + 120 = 180 s, the link's last moment.
    await drainWhenDue(h);
    expect(eventsNamed(h, 'mail_given_up')).toEqual([expect.objectContaining({ reason: 'expired', attempts: 2 })]);
  });

  it("words a transport's own failure for the log, at most 300 characters; the log transport's line is the mail, so no mail event", async () => {
    const h = await createHarness();
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect(h.mails).toHaveLength(1);
    expect(eventsNamed(h, 'mail')).toEqual([]);
    h.deps.transport = { name: 'webhook', send: async () => Promise.reject(new MailTransportError(`mail webhook at hooks.example answered HTTP 503 ${'x'.repeat(400)}`)) };
    expect((await h.post('/register', { email: 'bob@example.com', password: GOOD_PASSWORD })).status).toBe(202);
    const [failed] = eventsNamed(h, 'mail_failed');
    expect(failed!.detail).toMatch(/^mail webhook at hooks\.example answered HTTP 503 x+$/);
    expect(String(failed!.detail)).toHaveLength(300);
  });

  it('a claim another courier holds is skipped quietly; a database that fails around a send is logged, and the mail goes later', async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
    h.later.hold = true;
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    const [row] = await outboxRows(h);
    const failing = (db: Database): Database => ({
      prepare: (sql) => (/mail_outbox/.test(sql) ? { ...db.prepare('SELECT 1'), bind: () => { throw new Error('disk I/O error'); } } : db.prepare(sql)),
      batch: (statements) => db.batch(statements),
    });
    expect(await deliverQueued({ ...courierOf(h.deps), db: failing(h.db) }, row!.id, { first: true })).toBe('skipped');
    expect(await drainOutbox({ ...courierOf(h.deps), db: failing(h.db) })).toMatchObject({ sent: 0 });
    expect(eventsNamed(h, 'mail_outbox_failed')).toEqual([
      expect.objectContaining({ outbox: row!.id, reason: 'Error' }),
      expect.objectContaining({ reason: 'Error' }),
    ]);
    // The request's own send, then a second try at the same row: sent once, the second skipped
    // without a word (another courier had it, which is no failure).
    h.later.hold = false;
    await h.later.settled();
    expect(await deliverQueued(courierOf(h.deps), row!.id, { first: true })).toBe('skipped');
    expect(eventsNamed(h, 'mail_outbox_failed')).toHaveLength(2);
    expect(h.mails).toHaveLength(1);
  });

  it('the Node timer looks for due mail every half retry delay, between 1 and 5 seconds', () => {
    expect([1, 2, 3, 10, 60, 3600].map(outboxTickMs)).toEqual([1000, 1000, 1500, 5000, 5000, 5000]);
  });
});
