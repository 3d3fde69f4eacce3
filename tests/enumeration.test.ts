/**
 * No endpoint may tell an attacker which addresses have accounts: every branch answers with the
 * same status and body and does the same expensive work (counted password hashes here; the
 * latency ratio is measured by the benchmark).
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { MailTransport } from '../lib/mail/transport.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from './support/harness.ts';

type Branch = 'new' | 'pending' | 'active';

async function withAccounts(h: Harness) {
  await h.createActiveAccount('active@example.com');
  await h.registerAndGetToken('pending@example.com');
}

/**
 * Status, body, hash work and mails of one request, with the body's volatile parts left as they
 * are. Its mails are held until it has answered and then waited for (`h.later`), so that the
 * count is of this request's and `answered` sees only the request's own work.
 */
async function observeRequest<X extends object>(h: Harness, send: () => Promise<Response>, answered: () => X = () => ({}) as X) {
  const hashes = { ...h.hashes };
  const mailsBefore = h.mails.length;
  h.later.hold = true;
  const res = await send();
  const extra = answered();
  h.later.hold = false;
  await h.later.settled();
  return {
    status: res.status,
    body: await res.text(),
    type: res.headers.get('content-type'),
    hash: h.hashes.hash - hashes.hash,
    verify: h.hashes.verify - hashes.verify,
    mails: h.mails.length - mailsBefore,
    ...extra,
  };
}

const observe = (h: Harness, path: string, body: unknown) => observeRequest(h, () => h.post(path, body));


/** A harness whose database records every statement it prepares, whitespace folded. */
async function recordingHarness() {
  const statements: string[] = [];
  const h = await createHarness({}, (db) => ({
    prepare: (sql) => (statements.push(sql.replace(/\s+/g, ' ').trim()), db.prepare(sql)),
    batch: (s) => db.batch(s),
  }));
  return { h, statements };
}
describe(`no account enumeration (${backend.name})`, () => {
  it('register: new, pending and active addresses cost one hash each and get the same 202', async () => {
    const h = await createHarness();
    await withAccounts(h);
    const seen: Record<Branch, Awaited<ReturnType<typeof observe>>> = {
      new: await observe(h, '/register', { email: 'new@example.com', password: OTHER_PASSWORD }),
      pending: await observe(h, '/register', { email: 'pending@example.com', password: OTHER_PASSWORD }),
      active: await observe(h, '/register', { email: 'active@example.com', password: OTHER_PASSWORD }),
    };
    for (const branch of Object.values(seen)) {
      expect(branch).toMatchObject({ status: 202, hash: 1, verify: 0, mails: 1, type: 'application/json' });
      expect(branch.body).toBe(seen.new.body);
    }
    expect(h.mails.slice(-3).map((m) => m.template)).toEqual(['activation', 'activation', 'already-registered']);
  });

  it('login: unknown, active with a wrong password, and pending with any password are indistinguishable', async () => {
    const h = await createHarness();
    await withAccounts(h);
    const unknown = await observe(h, '/login', { email: 'nobody@example.com', password: GOOD_PASSWORD });
    const wrong = await observe(h, '/login', { email: 'active@example.com', password: OTHER_PASSWORD });
    const pendingWrong = await observe(h, '/login', { email: 'pending@example.com', password: OTHER_PASSWORD });
    // Even the password the pending registration was made with: anyone can make a registration.
    const pendingRight = await observe(h, '/login', { email: 'pending@example.com', password: GOOD_PASSWORD });
    for (const branch of [unknown, wrong, pendingWrong, pendingRight]) {
      expect(branch).toMatchObject({ status: 401, hash: 0, verify: 1, mails: 0, type: 'application/problem+json' });
      expect(branch.body).toBe(unknown.body);
    }
    const ok = await observe(h, '/login', { email: 'active@example.com', password: GOOD_PASSWORD });
    expect(ok).toMatchObject({ status: 200, hash: 0, verify: 1 });
  });

  it('resend: unknown, pending and active addresses get the same 202 after the same work', async () => {
    const h = await createHarness();
    await withAccounts(h);
    const unknown = await observe(h, '/resend-activation', { email: 'nobody@example.com' });
    const pending = await observe(h, '/resend-activation', { email: 'pending@example.com' });
    const active = await observe(h, '/resend-activation', { email: 'active@example.com' });
    for (const branch of [unknown, pending, active]) {
      expect(branch).toMatchObject({ status: 202, hash: 0, verify: 0 });
      expect(branch.body).toBe(unknown.body);
    }
    expect([unknown.mails, pending.mails, active.mails]).toEqual([0, 1, 1]);
  });

  it('forgot-password: unknown, pending and active addresses get the same 202 after the same work; only the mailbox differs', async () => {
    const h = await createHarness();
    await withAccounts(h);
    const unknown = await observe(h, '/forgot-password', { email: 'nobody@example.com' });
    const pending = await observe(h, '/forgot-password', { email: 'pending@example.com' });
    const active = await observe(h, '/forgot-password', { email: 'active@example.com' });
    for (const branch of [unknown, pending, active]) {
      expect(branch).toMatchObject({ status: 202, hash: 0, verify: 0, type: 'application/json' });
      expect(branch.body).toBe(unknown.body);
    }
    expect([unknown.mails, pending.mails, active.mails]).toEqual([0, 1, 1]);
    expect(h.mails.slice(-2).map((m) => m.template)).toEqual(['activation', 'password-reset']);
  });

  it('issues the same statements on every branch of register, login, resend and forgot-password', async () => {
    const { h: recorder, statements } = await recordingHarness();
    await withAccounts(recorder);
    const trace = async (path: string, body: unknown) => {
      statements.length = 0;
      // The request's own statements; the courier's, after the answer, send what it queued.
      recorder.later.hold = true;
      await recorder.post(path, body);
      const seen = [...statements];
      recorder.later.hold = false;
      await recorder.later.settled();
      return seen;
    };
    for (const [path, make] of [
      ['/login', (email: string) => ({ email, password: 'none of these is right' })],
      ['/resend-activation', (email: string) => ({ email })],
      ['/register', (email: string) => ({ email, password: OTHER_PASSWORD })],
      ['/forgot-password', (email: string) => ({ email })],
    ] as const) {
      const traces: string[][] = [];
      for (const email of ['new@example.com', 'pending@example.com', 'active@example.com']) traces.push(await trace(path, make(email)));
      expect(traces[0]!.length, path).toBeGreaterThanOrEqual(path === '/login' ? 2 : 4);
      expect(traces[1], path).toEqual(traces[0]);
      expect(traces[2], path).toEqual(traces[0]);
    }
  });
});

describe(`no account enumeration through a change of address (${backend.name})`, () => {
  it('POST /change-email: free, taken, pending, pending elsewhere, reserved and own addresses get the same 202 after the same work and the same statements', async () => {
    const { h, statements } = await recordingHarness();
    await withAccounts(h);
    // A change waiting for another account's confirmation, and an address held for an undo.
    await h.createActiveAccount('elsewhere@example.com');
    const elsewhere = await h.logIn('elsewhere@example.com');
    await h.bearer('POST', '/change-email', elsewhere, { password: GOOD_PASSWORD, newEmail: 'wanted@example.com' });
    await h.createActiveAccount('moved@example.com');
    const moved = await h.logIn('moved@example.com');
    await h.bearer('POST', '/change-email', moved, { password: GOOD_PASSWORD, newEmail: 'moved@new.example' });
    const confirm = h.mails.filter((m) => m.template === 'email-change').at(-1)!.link!;
    expect((await h.post('/confirm-email', { token: new URL(confirm).searchParams.get('token') })).status).toBe(200);
    await h.createActiveAccount('asker@example.com');
    const asker = await h.logIn('asker@example.com');

    const observeChange = (newEmail: string) => {
      statements.length = 0;
      return observeRequest(
        h,
        () => h.bearer('POST', '/change-email', asker, { password: GOOD_PASSWORD, newEmail }),
        () => ({ trace: [...statements] }),
      );
    };
    const seen = {
      free: await observeChange('free@example.com'),
      taken: await observeChange('active@example.com'),
      pending: await observeChange('pending@example.com'),
      elsewhere: await observeChange('wanted@example.com'),
      reserved: await observeChange('moved@example.com'),
      own: await observeChange('asker@example.com'),
    };
    expect(seen.free.trace.length).toBeGreaterThanOrEqual(6);
    for (const branch of Object.values(seen)) {
      expect(branch).toMatchObject({ status: 202, hash: 0, verify: 1, mails: 1, type: 'application/json' });
      expect(branch.body).toBe(seen.free.body);
      expect(branch.trace).toEqual(seen.free.trace);
    }
    // Only the mailbox learns which it was: a link for a free address, a notice for one that is not.
    expect(h.mails.slice(-6).map((m) => m.template)).toEqual(['email-change', 'email-in-use', 'email-change', 'email-change', 'email-in-use', 'email-in-use']);
  });
});

describe(`mail is handed off (${backend.name})`, () => {
  const transports: Record<string, MailTransport> = {
    'throws at once': {
      name: 'smtp',
      send() {
        throw new Error('smtp down');
      },
    },
    rejects: { name: 'smtp', send: async () => Promise.reject(new Error('smtp down')) },
    'never answers': { name: 'smtp', send: () => new Promise<void>(() => undefined) },
  };

  for (const [name, transport] of Object.entries(transports)) {
    it(`a transport that ${name} neither fails nor holds up the request`, async () => {
      const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
      h.deps.transport = transport;
      // The answers come back before any send starts: the harness holds what the requests left
      // for after their answers until the test lets it run.
      h.later.hold = true;
      expect((await h.post('/register', { email: 'mail@example.com', password: GOOD_PASSWORD })).status).toBe(202);
      expect((await h.post('/resend-activation', { email: 'mail@example.com' })).status).toBe(202);
      expect(h.events.filter((e) => e.event.startsWith('mail'))).toEqual([]);
      h.later.hold = false;
      await h.later.settled();
      expect(h.events.filter((e) => e.event === 'mail_failed')).toHaveLength(2);
      expect(JSON.stringify(h.events)).not.toContain('smtp down');
    });
  }
});
