// A mail sink that throws, rejects or never answers: the request answers as usual and without
// waiting on the sink, the registration stands, the failure is logged, and the user can ask for a
// new link once mail works again.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import type { MailSink } from '../lib/mail/mail.ts';
import { createHarness, dump, GOOD_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const EMAIL = 'ada@example.com';

const sinks: Record<string, () => MailSink> = {
  throws: () => ({
    send() {
      throw new Error('mailer exploded');
    },
  }),
  rejects: () => ({ send: async () => Promise.reject(new Error('mailer said no')) }),
  'never answers': () => ({ send: () => new Promise<void>(() => {}) }),
};

async function mailFailure(h: Harness): Promise<Harness['events'][number]> {
  // The sink is left behind once the timeout (50 ms here) passes; wait for the log line.
  for (;;) {
    const event = h.events.find((e) => e.event === 'mail_failed');
    if (event) return event;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe(`a failing mail sink (${backend.name})`, () => {
  for (const [kind, broken] of Object.entries(sinks)) {
    it(`registration stands when the sink ${kind}, and a new link can be asked for`, async () => {
      const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
      const working = h.deps.mail;
      h.deps.mail = broken();

      const res = await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ status: 'pending' });
      const stored = await h.db.prepare('SELECT count(*) AS n FROM registrations').first<{ n: number }>();
      expect(stored?.n).toBe(1);
      const failure = await mailFailure(h);
      expect(failure).toMatchObject({ template: 'activation', reason: kind === 'never answers' ? 'MailTimeoutError' : 'Error' });
      expect(JSON.stringify(h.events)).not.toMatch(/mailer|token=/);

      // Resend with the sink still broken answers as usual too.
      expect((await h.post('/resend-activation', { email: EMAIL })).status).toBe(202);

      h.deps.mail = working;
      expect((await h.post('/resend-activation', { email: EMAIL })).status).toBe(202);
      const token = tokenFromLink(h.mails.at(-1)?.link);
      expect((await h.post('/activate', { token, password: GOOD_PASSWORD })).status).toBe(200);
      expect((await h.post('/login', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(200);
    });
  }

  it('an active address still gets its 202 and nothing changes when the sink never answers', async () => {
    const h = await createHarness({ MAIL_TIMEOUT_MS: '50' });
    await h.createActiveAccount(EMAIL);
    const before = await dump(h.db);
    h.deps.mail = sinks['never answers']!();
    expect((await h.post('/register', { email: EMAIL, password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/resend-activation', { email: EMAIL })).status).toBe(202);
    expect(await dump(h.db)).toBe(before);
    expect((await mailFailure(h)).template).toBe('already-registered');
  });
});
