/**
 * Issue 13 §4 and §5a as attacks: someone else's requests must not keep the owner from registering
 * and getting a link, the allowances must still stop mail bombing, and no answer may say that an
 * address is over an allowance or was used recently.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const ATTACKER = '203.0.113.66';
const OWNER_CLIENT = '198.51.100.20';
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };

const mailsTo = (h: Harness, to: string) => h.mails.filter((m) => m.to === to);

/** Everything a client sees of an answer: status, body and every header. */
async function answer(res: Response) {
  return { status: res.status, headers: [...res.headers].sort(), body: await res.text() };
}

/** The owner, from their own client: registers, follows the link in their mail, logs in. */
async function ownerRegistersAndActivates(h: Harness) {
  h.client.address = OWNER_CLIENT;
  const before = h.mails.length;
  const res = await h.post('/register', { email: OWNER, password: GOOD_PASSWORD });
  expect(res.status).toBe(202);
  const mail = h.mails.slice(before).find((m) => m.to === OWNER && m.template === 'activation');
  expect(mail, 'the owner gets an activation mail').toBeDefined();
  expect((await h.post('/activate', { token: tokenFromLink(mail!.link), password: GOOD_PASSWORD })).status).toBe(200);
  expect((await h.post('/login', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(200);
}

describe(`the mail allowance cannot be turned against the owner (${backend.name})`, () => {
  it("resends for a never-registered address do not stop its owner's registration (the issue's attack)", async () => {
    const h = await createHarness();
    h.client.address = ATTACKER;
    for (let i = 0; i < 10; i++) {
      const res = await h.post('/resend-activation', { email: OWNER });
      expect(res.status).toBe(202);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect(h.mails).toHaveLength(0);
    await ownerRegistersAndActivates(h);
  });

  it("many clients' resends for a never-registered address cost no allowance at all: there was nothing to mail", async () => {
    const h = await createHarness();
    for (let client = 1; client <= 12; client++) {
      h.client.address = `203.0.113.${client}`;
      for (let i = 0; i < 10; i++) expect((await h.post('/resend-activation', { email: OWNER })).status).toBe(202);
    }
    await ownerRegistersAndActivates(h);
  });

  it("one client spending its whole allowance on the owner's address with registers and resends leaves the owner theirs", async () => {
    const h = await createHarness();
    h.client.address = ATTACKER;
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await h.post('/register', { email: OWNER.toUpperCase(), password: OTHER_PASSWORD })).status);
    for (let i = 0; i < 8; i++) statuses.push((await h.post('/resend-activation', { email: OWNER })).status);
    expect(statuses).toEqual(Array(16).fill(202));
    expect(mailsTo(h, OWNER.toUpperCase())).toHaveLength(5); // the attacker's allowance for this address
    await ownerRegistersAndActivates(h);
  });

  it('one client sending more than the whole ceiling, as fast as its endpoint allowances let it, leaves the owner theirs', async () => {
    // Every register and resend this client's endpoint allowances take (20 + 10 at the defaults,
    // more than the per-address ceiling of 20): past its own allowance none may reach the ceiling.
    const h = await createHarness();
    h.client.address = ATTACKER;
    let accepted = 0;
    for (let i = 0; i < 25; i++) accepted += (await h.post('/register', { email: OWNER, password: OTHER_PASSWORD })).status === 202 ? 1 : 0;
    for (let i = 0; i < 15; i++) accepted += (await h.post('/resend-activation', { email: OWNER })).status === 202 ? 1 : 0;
    expect(accepted).toBeGreaterThan(20);
    expect(mailsTo(h, OWNER)).toHaveLength(5);
    await ownerRegistersAndActivates(h);
  });
});

describe(`the allowances still stop mail bombing (${backend.name})`, () => {
  // The endpoint limits per client are switched off so that only the mail allowances are tested.
  const BOMBING = { LIMIT_REGISTER_PER_CLIENT: 'off', LIMIT_RESEND_PER_CLIENT: 'off' };
  const bomb = async (h: Harness, requests: number) => {
    for (let i = 0; i < requests; i++) {
      const res = i % 2 ? await h.post('/resend-activation', { email: OWNER }) : await h.post('/register', { email: OWNER, password: OTHER_PASSWORD });
      expect(res.status).toBe(202);
    }
  };

  it('one client gets no more than its allowance of mail into one inbox per hour, however it asks', async () => {
    const h = await createHarness(BOMBING);
    h.client.address = ATTACKER;
    await bomb(h, 50);
    expect(mailsTo(h, OWNER)).toHaveLength(5);
    h.clock.now += 3600_000;
    await bomb(h, 50);
    expect(mailsTo(h, OWNER)).toHaveLength(10);
  });

  it('many clients together get no more than the ceiling and the new clients\' allowance per hour', async () => {
    const h = await createHarness(BOMBING);
    for (let client = 1; client <= 10; client++) {
      h.client.address = `203.0.113.${client}`;
      await bomb(h, 20);
    }
    // The ceiling (four clients' worth), then one each for the next five clients, new to the
    // address, from the allowance kept for new clients (tests/mail-ceiling-owner.test.ts).
    expect(mailsTo(h, OWNER)).toHaveLength(25);
    // What a distributed attacker can still do (docs/throttling.md): with both spent by nine clients
    // this hour, the owner's own request this hour is answered but not mailed.
    h.client.address = OWNER_CLIENT;
    expect((await h.post('/register', { email: OWNER, password: GOOD_PASSWORD })).status).toBe(202);
    expect(mailsTo(h, OWNER)).toHaveLength(25);
    // The next hour the ceiling is fresh and the owner gets through.
    h.clock.now += 3600_000;
    await ownerRegistersAndActivates(h);
  });
});

describe(`an answer over an allowance is the answer under it (${backend.name})`, () => {
  it('register and resend, as JSON and as a form: the same status, body and headers, and no Retry-After', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600', LIMIT_MAIL_PER_ADDRESS: '2/3600', LIMIT_MAIL_PER_ADDRESS_NEW_CLIENTS: '1/3600' });
    await h.registerAndGetToken('pending@example.com');
    h.clock.now += 3600_000;
    const requests: Array<[string, () => Promise<Response>]> = [
      ['register', () => h.post('/register', { email: 'pending@example.com', password: OTHER_PASSWORD })],
      ['resend', () => h.post('/resend-activation', { email: 'pending@example.com' })],
      ['resend form', () => h.post('/resend-activation', 'email=pending%40example.com', FORM)],
    ];
    for (const [name, send] of requests) {
      h.clock.now += 3600_000; // each request kind starts with a fresh allowance
      const mails = h.mails.length;
      const under = await answer(await send());
      expect(h.mails.length, name).toBe(mails + 1);
      const overOwn = await answer(await send()); // over this client's allowance
      h.client.address = '198.51.100.99';
      await send(); // a second client spends the ceiling...
      h.client.address = '198.51.100.100';
      const newClient = await answer(await send()); // ...a third, new to the address, spends the new clients' one...
      h.client.address = '198.51.100.101';
      const overCeiling = await answer(await send()); // ...so a fourth is over both
      h.client.address = '192.0.2.1';
      expect(h.mails.length, name).toBe(mails + 3);
      expect(under.status, name).toBe(202);
      expect(overOwn, name).toEqual(under);
      expect(newClient, name).toEqual(under);
      expect(overCeiling, name).toEqual(under);
    }
  });

  it('register over the allowance does the same work: one hash and the same statements', async () => {
    const statements: string[] = [];
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600' }, (db) => ({
      prepare: (sql) => (statements.push(sql.replace(/\s+/g, ' ').trim()), db.prepare(sql)),
      batch: (s) => db.batch(s),
    }));
    const trace = async (path: string, body: unknown) => {
      statements.length = 0;
      const hashes = h.hashes.hash;
      // The request's own statements; the courier's, after the answer, send what it queued.
      h.later.hold = true;
      await h.post(path, body);
      const seen = { statements: [...statements], hashes: h.hashes.hash - hashes };
      h.later.hold = false;
      await h.later.settled();
      return seen;
    };
    const under = await trace('/register', { email: 'x@example.com', password: GOOD_PASSWORD });
    const over = await trace('/register', { email: 'x@example.com', password: GOOD_PASSWORD });
    expect(under.hashes).toBe(1);
    expect(h.mails, 'the second register was over the allowance').toHaveLength(1);
    expect(over).toEqual(under);
    const resendUnder = await trace('/resend-activation', { email: 'y@example.com' });
    await h.post('/register', { email: 'y@example.com', password: GOOD_PASSWORD });
    const resendOver = await trace('/resend-activation', { email: 'y@example.com' });
    expect(h.mails.filter((m) => m.to === 'y@example.com'), 'the resend was over the allowance').toHaveLength(1);
    expect(resendOver).toEqual(resendUnder);
  });

  it('stores a registration made over the allowance, so the owner can have it mailed later (the choice in docs/security.md)', async () => {
    const h = await createHarness({ LIMIT_MAIL_PER_ADDRESS_CLIENT: '1/3600' });
    h.client.address = OWNER_CLIENT;
    await h.post('/register', { email: OWNER, password: OTHER_PASSWORD });
    await h.post('/register', { email: OWNER, password: GOOD_PASSWORD }); // over: stored, not mailed
    expect(mailsTo(h, OWNER)).toHaveLength(1);
    const rows = await h.db.prepare('SELECT count(*) AS n FROM registrations WHERE email_key = ?').bind(OWNER).first<{ n: number }>();
    expect(rows?.n).toBe(2);
  });
});

describe(`answers say nothing about recent activity (${backend.name}, issue 13 §5a)`, () => {
  it('a recently used address and an untouched one get the same answers from every client, in or over the allowance', async () => {
    // The endpoint limits per client say something about the client only; off, so the probe can go on.
    const h = await createHarness({ LIMIT_REGISTER_PER_CLIENT: 'off', LIMIT_RESEND_PER_CLIENT: 'off' });
    h.client.address = OWNER_CLIENT;
    await h.registerAndGetToken('recent@example.com');
    h.clock.now += 20_000;
    h.client.address = ATTACKER;
    const probe = async (email: string) => [
      await answer(await h.post('/resend-activation', { email })),
      await answer(await h.post('/register', { email, password: OTHER_PASSWORD })),
      await answer(await h.post('/resend-activation', `email=${encodeURIComponent(email)}`, FORM)),
    ];
    for (let round = 0; round < 4; round++) {
      // Rounds 3 and 4 are over the attacker's allowance for the recent address and near it for the other.
      const recent = await probe('recent@example.com');
      const untouched = await probe(`untouched${round}@example.com`);
      expect(recent, `round ${round}`).toEqual(untouched);
      for (const a of recent) {
        expect(a.status).toBe(202);
        expect(a.headers.map(([name]) => name)).not.toContain('retry-after');
      }
    }
  });
});
