// The deployed Worker entry (functions/worker.ts) with MAIL_TRANSPORT=cloudflare, in workerd, over
// miniflare's local send_email binding: the activation and reset links that the binding accepts
// work, the log lines carry none of them, and a mail whose first send failed is sent by the cron
// (the outbox), with no request. The binding is wrapped only to read what it was handed.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { backend } from '#backend';
import { env } from 'cloudflare:workers';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { workerHandlers as worker } from '../../functions/worker-handlers.ts';
import type { SendEmailBinding } from '../../lib/mail/transports/cloudflare.ts';

const PASSWORD = 'a password typed at the edge';
const NEW_PASSWORD = 'another password typed at the edge';
const PERSON = 'person@example.com';

beforeEach(async () => {
  await backend.freshDatabase();
});

interface Sent {
  to: string;
  subject: string;
  text: string;
  html: string;
}

function edge(options: { failFirst?: number } = {}) {
  const sent: Sent[] = [];
  let failures = options.failFirst ?? 0;
  const binding: SendEmailBinding = {
    async send(message) {
      if (failures > 0) {
        failures--;
        throw new Error('E_DELIVERY_FAILED: try again later');
      }
      const result = await (env.EMAIL as unknown as SendEmailBinding).send(message);
      sent.push(message as unknown as Sent);
      return result;
    },
  };
  // A new env object: the Worker builds its deps for it (they are cached per env).
  const vars = {
    ...env,
    PUBLIC_URL: 'https://accounts.latchkey.example',
    // A production URL: no lookup of the real range API from a test.
    BREACHED_PASSWORDS: 'off',
    MAIL_TRANSPORT: 'cloudflare',
    MAIL_FROM: 'Latchkey <no-reply@latchkey.example>',
    MAIL_RETRY_SECONDS: '1',
    DATA_KEY: '0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    SCRYPT_LOG_N: '4',
    SCRYPT_R: '8',
    SCRYPT_P: '1',
    EMAIL: binding,
  };
  const call = async (path: string, body: unknown) => {
    const ctx = createExecutionContext();
    const request = new Request(`https://accounts.latchkey.example${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const res = await worker.fetch(request as never, vars as never, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  };
  const cron = async () => {
    await worker.scheduled({ cron: '* * * * *', scheduledTime: Date.now(), noRetry: () => undefined } as ScheduledController, vars as never);
  };
  const tokenIn = (mail: Sent | undefined) => {
    const link = /https:\/\/accounts\.latchkey\.example\/\S+/.exec(mail?.text ?? '')?.[0];
    expect(mail?.html).toContain(`href="${link}"`);
    return new URL(link!).searchParams.get('token')!;
  };
  return { sent, call, cron, tokenIn };
}

describe('the Worker with MAIL_TRANSPORT=cloudflare', () => {
  it('activation and reset links arrive through the send_email binding and work; no log line carries one', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
    try {
      const { sent, call, tokenIn } = edge();
      expect((await call('/register', { email: PERSON, password: PASSWORD })).status).toBe(202);
      expect(sent.map((m) => m.to)).toEqual([PERSON]);
      expect(sent[0]!.subject).toBe('Activate your account — Latchkey');
      const activation = tokenIn(sent[0]);
      expect((await call('/activate', { token: activation, password: PASSWORD })).status).toBe(200);
      expect((await call('/forgot-password', { email: PERSON })).status).toBe(202);
      const resetToken = tokenIn(sent[1]);
      expect((await call('/reset-password', { token: resetToken, password: NEW_PASSWORD })).status).toBe(200);
      expect((await call('/login', { email: PERSON, password: NEW_PASSWORD })).status).toBe(200);
      expect(sent.map((m) => m.subject)).toEqual(['Activate your account — Latchkey', 'Reset your password — Latchkey', 'Your password was changed — Latchkey']);
      const log = lines.join('\n');
      expect(log).toContain('"event":"mail"');
      for (const secret of [activation, resetToken, 'token=']) expect(log).not.toContain(secret);
    } finally {
      spy.mockRestore();
    }
  });

  it('a send that failed is made by the cron once the binding works, with no request', async () => {
    const spy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const { sent, call, cron, tokenIn } = edge({ failFirst: 1 });
      expect((await call('/register', { email: PERSON, password: PASSWORD })).status).toBe(202);
      expect(sent).toEqual([]);
      // Due a second after the failure (MAIL_RETRY_SECONDS=1): the cron runs until it has sent it.
      const deadline = Date.now() + 10_000;
      while (sent.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        await cron();
      }
      expect(sent).toHaveLength(1);
      expect((await call('/activate', { token: tokenIn(sent[0]), password: PASSWORD })).status).toBe(200);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('the Worker refuses mail settings that cannot work, naming them', () => {
  for (const [vars, named] of [
    [{ MAIL_TRANSPORT: 'cloudflare', MAIL_FROM: 'Latchkey <no-reply@latchkey.example>' }, /DATA_KEY must be set/],
    [{ MAIL_TRANSPORT: 'smtp', MAIL_FROM: 'a@latchkey.example', SMTP_URL: 'smtps://u:hunter2@mail.example:465', DATA_KEY: '00'.repeat(32) }, /runs on the Node server only/],
    [{ MAIL_TRANSPORT: 'cloudflare', MAIL_FROM: 'a@latchkey.example', DATA_KEY: '00'.repeat(32), EMAIL: undefined }, /needs a send_email binding named EMAIL/],
  ] as const) {
    it(`${Object.values(vars).join(' ')}: every request fails with a line that says why`, async () => {
      const lines: string[] = [];
      const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
      try {
        const ctx = createExecutionContext();
        const request = new Request('https://accounts.latchkey.example/health');
        const res = await worker.fetch(request as never, { ...env, PUBLIC_URL: 'https://accounts.latchkey.example', ...vars } as never, ctx);
        await waitOnExecutionContext(ctx);
        expect(res.status).toBe(500);
        expect(await res.text()).not.toMatch(/DATA_KEY|SMTP|EMAIL|hunter2/);
      } finally {
        spy.mockRestore();
      }
      const refusal = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === 'worker_misconfigured');
      expect(refusal?.reason).toMatch(named);
      expect(JSON.stringify(lines)).not.toContain('hunter2');
    });
  }
});
