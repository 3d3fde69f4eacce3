/**
 * Attack stories that chain endpoints (issue 13 §1–§2), each written as the attacker and the owner
 * would act: several requests, from more than one client, across register, resend, the link's page
 * and login. The attacker can send any request but cannot read the owner's mailbox.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, GOOD_PASSWORD, NO_LIMITS, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const OWNER = 'owner@example.com';
const OWNER_PASSWORD = GOOD_PASSWORD;
const ATTACKER_PASSWORD = OTHER_PASSWORD;
const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' };
const OWNER_CLIENT = '198.51.100.7';
const ATTACKER_CLIENT = '203.0.113.66';

/** Requests as one client; the harness's client address is switched for each. */
function as(h: Harness, client: string) {
  return {
    post: (path: string, body: unknown, headers?: Record<string, string>) => ((h.client.address = client), h.post(path, body, headers)),
    get: (path: string) => ((h.client.address = client), h.get(path)),
  };
}

/** The links in the owner's mailbox, oldest first. */
const mailboxLinks = (h: Harness) => h.mails.filter((m) => m.to.toLowerCase() === OWNER && m.link).map((m) => m.link!);

/**
 * The owner follows a link the way its pages ask: opens it, types their password into the page's
 * form, and if the next page asks for the password twice, types it twice. Returns the last page's
 * status. Nothing here knows which registration the link belongs to.
 */
async function ownerFollows(h: Harness, link: string): Promise<number> {
  const owner = as(h, OWNER_CLIENT);
  const url = new URL(link);
  const page = await owner.get(`${url.pathname}${url.search}`);
  const html = await page.text();
  if (page.status !== 200 || !html.includes('name="password"')) return page.status;
  const token = /name="token" value="([^"]+)"/.exec(html)![1]!;
  const first = await owner.post('/activate', new URLSearchParams({ token, password: OWNER_PASSWORD }).toString(), FORM);
  const answer = await first.text();
  if (first.status !== 422 || !answer.includes('name="confirmPassword"')) return first.status;
  const again = /name="token" value="([^"]+)"/.exec(answer)![1]!;
  const body = new URLSearchParams({ token: again, password: OWNER_PASSWORD, confirmPassword: OWNER_PASSWORD }).toString();
  return (await owner.post('/activate', body, FORM)).status;
}

async function loginStatus(h: Harness, client: string, password: string): Promise<number> {
  return (await as(h, client).post('/login', { email: OWNER, password })).status;
}

/** The account is the owner's: their password works, the attacker's does not. */
async function expectOwnersAccount(h: Harness) {
  expect(await loginStatus(h, OWNER_CLIENT, OWNER_PASSWORD)).toBe(200);
  expect(await loginStatus(h, ATTACKER_CLIENT, ATTACKER_PASSWORD)).toBe(401);
}

describe(`attack: pre-hijacking an account before its owner activates it (${backend.name})`, () => {
  it('the attacker registers the owner\'s address after the owner; the owner asks for a new link and uses it', async () => {
    const h = await createHarness();
    await as(h, OWNER_CLIENT).post('/register', { email: OWNER, password: OWNER_PASSWORD });
    await as(h, ATTACKER_CLIENT).post('/register', { email: OWNER.toUpperCase(), password: ATTACKER_PASSWORD });
    await as(h, OWNER_CLIENT).post('/resend-activation', { email: OWNER });

    const links = mailboxLinks(h);
    expect(links).toHaveLength(3);
    expect(await ownerFollows(h, links.at(-1)!)).toBe(200);
    await expectOwnersAccount(h);
  });

  it('the owner uses the most recent mail, which is the attacker\'s registration', async () => {
    const h = await createHarness();
    await as(h, OWNER_CLIENT).post('/register', { email: OWNER, password: OWNER_PASSWORD });
    await as(h, ATTACKER_CLIENT).post('/register', { email: OWNER, password: ATTACKER_PASSWORD });
    expect(await ownerFollows(h, mailboxLinks(h).at(-1)!)).toBe(200);
    await expectOwnersAccount(h);
  });

  it('the owner never registered, and opens the attacker\'s mail out of curiosity', async () => {
    const h = await createHarness();
    await as(h, ATTACKER_CLIENT).post('/register', { email: OWNER, password: ATTACKER_PASSWORD });
    const [link] = mailboxLinks(h);

    // Opening the link (or a mail scanner fetching it) changes nothing.
    const url = new URL(link!);
    await as(h, OWNER_CLIENT).get(`${url.pathname}${url.search}`);
    expect(await loginStatus(h, ATTACKER_CLIENT, ATTACKER_PASSWORD)).toBe(401);
    // A scanner that posts the form without a password activates nothing either.
    const token = tokenFromLink(link);
    expect((await as(h, OWNER_CLIENT).post('/activate', `token=${token}`, FORM)).status).toBe(422);
    expect(await loginStatus(h, ATTACKER_CLIENT, ATTACKER_PASSWORD)).toBe(401);

    // Pressing the button means typing a password: the owner's own, never the attacker's.
    expect(await ownerFollows(h, link!)).toBe(200);
    await expectOwnersAccount(h);
  });

  it('whatever the attacker does first, every link in the owner\'s mailbox ends in the owner\'s account', async () => {
    // Attacker moves, from clients the owner does not share: register (in any spelling), resend.
    const moves: Array<(h: Harness) => Promise<unknown>> = [
      (h) => as(h, ATTACKER_CLIENT).post('/register', { email: OWNER, password: ATTACKER_PASSWORD }),
      (h) => as(h, '203.0.113.67').post('/register', { email: 'Owner@Example.COM', password: `${ATTACKER_PASSWORD} two` }),
      (h) => as(h, ATTACKER_CLIENT).post('/resend-activation', { email: OWNER }),
    ];
    const sequences: number[][] = [[0], [2, 0], [0, 1, 2], [0, 2, 1, 2], [1, 0, 2]];
    for (const sequence of sequences) {
      for (const ownerFirst of [true, false]) {
        // Count how many links the owner will have, then follow each one on a fresh copy of the story.
        const probe = await story(sequence, ownerFirst);
        const count = mailboxLinks(probe).length;
        for (let i = 0; i < count; i++) {
          const h = await story(sequence, ownerFirst);
          const label = `moves ${sequence.join(',')}, owner ${ownerFirst ? 'first' : 'last'}, link ${i + 1} of ${count}`;
          expect(await ownerFollows(h, mailboxLinks(h)[i]!), label).toBe(200);
          expect(await loginStatus(h, OWNER_CLIENT, OWNER_PASSWORD), label).toBe(200);
          for (const password of [ATTACKER_PASSWORD, `${ATTACKER_PASSWORD} two`]) {
            expect(await loginStatus(h, ATTACKER_CLIENT, password), label).toBe(401);
          }
        }
      }
    }

    async function story(sequence: number[], ownerFirst: boolean): Promise<Harness> {
      const h = await createHarness(NO_LIMITS);
      const ownerRegisters = () => as(h, OWNER_CLIENT).post('/register', { email: OWNER, password: OWNER_PASSWORD });
      if (ownerFirst) await ownerRegisters();
      for (const move of sequence) await moves[move]!(h);
      if (!ownerFirst) await ownerRegisters();
      return h;
    }
  });

  it('without the mailbox the attacker cannot activate at all, however the requests are chained', async () => {
    const h = await createHarness();
    const attacker = as(h, ATTACKER_CLIENT);
    await attacker.post('/register', { email: OWNER, password: ATTACKER_PASSWORD });
    await attacker.post('/resend-activation', { email: OWNER });
    for (const token of ['A'.repeat(43), '', 'not-a-token']) {
      const res = await attacker.post('/activate', { token, password: ATTACKER_PASSWORD, confirmPassword: ATTACKER_PASSWORD });
      expect(res.status).toBe(400);
    }
    expect(await loginStatus(h, ATTACKER_CLIENT, ATTACKER_PASSWORD)).toBe(401);
    const accounts = await h.db.prepare('SELECT count(*) AS n FROM accounts').first<{ n: number }>();
    expect(accounts?.n).toBe(0);
  });
});

describe(`attack: telling active addresses from others by registering and logging in (${backend.name})`, () => {
  /** The attacker's two requests for one address, and everything it can observe of the login. */
  async function probe(h: Harness, email: string) {
    const attacker = as(h, ATTACKER_CLIENT);
    const register = await attacker.post('/register', { email, password: ATTACKER_PASSWORD });
    const before = { ...h.hashes };
    const login = await attacker.post('/login', { email, password: ATTACKER_PASSWORD });
    const headers = [...login.headers].filter(([name]) => name !== 'date');
    return {
      register: [register.status, await register.text()],
      login: { status: login.status, body: await login.text(), headers, verify: h.hashes.verify - before.verify, hash: h.hashes.hash - before.hash },
    };
  }

  it('register(address, P) then login(address, P) answers alike for active, pending and unknown addresses', async () => {
    const h = await createHarness();
    await h.createActiveAccount('active@example.com', OWNER_PASSWORD);
    await h.registerAndGetToken('pending@example.com', OWNER_PASSWORD);
    const seen = {
      active: await probe(h, 'active@example.com'),
      pending: await probe(h, 'pending@example.com'),
      unknown: await probe(h, 'unknown@example.com'),
    };
    expect(seen.active.login.status).toBe(401);
    expect(seen.pending).toEqual(seen.active);
    expect(seen.unknown).toEqual(seen.active);
  });

  it('the same statements run for each of the three, so the database work says nothing either', async () => {
    const statements: string[] = [];
    const h = await createHarness({}, (db) => ({
      prepare: (sql) => (statements.push(sql.replace(/\s+/g, ' ').trim()), db.prepare(sql)),
      batch: (s) => db.batch(s),
    }));
    await h.createActiveAccount('active@example.com', OWNER_PASSWORD);
    await h.registerAndGetToken('pending@example.com', OWNER_PASSWORD);
    const traces: string[][] = [];
    for (const email of ['active@example.com', 'pending@example.com', 'unknown@example.com']) {
      await as(h, ATTACKER_CLIENT).post('/register', { email, password: ATTACKER_PASSWORD });
      statements.length = 0;
      await as(h, ATTACKER_CLIENT).post('/login', { email, password: ATTACKER_PASSWORD });
      traces.push([...statements]);
    }
    expect(traces[0]!.length).toBeGreaterThan(0);
    expect(traces[1]).toEqual(traces[0]);
    expect(traces[2]).toEqual(traces[0]);
  });
});
