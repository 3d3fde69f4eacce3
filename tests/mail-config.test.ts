import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { ConfigError, DEFAULT_THROTTLE, loadConfig, mailWarning } from '../lib/config/config.ts';
import { jsonEventLog } from '../lib/log.ts';
import { activationMail, alreadyRegisteredMail } from '../lib/mail/mail.ts';
import { renderMail } from '../lib/mail/render.ts';
import { logTransport } from '../lib/mail/transports/log.ts';

describe(`the log transport (${backend.name})`, () => {
  it('writes each mail as one JSON line, with a link only when the mail has one', async () => {
    const lines: string[] = [];
    const transport = logTransport((line) => lines.push(line));
    const brand = { appName: 'Latchkey', from: 'Latchkey <no-reply@x.test>' };
    const signal = new AbortController().signal;
    await transport.send(renderMail(activationMail('ada@example.com', 'https://x.test/activate?token=abc', 86400), brand, 'id-1'), signal);
    await transport.send(renderMail(alreadyRegisteredMail('ada@example.com'), brand, 'id-2'), signal);
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => !l.includes('\n'))).toBe(true);
    const [first, second] = lines.map((l) => JSON.parse(l));
    expect(first).toMatchObject({ event: 'mail', template: 'activation', to: 'ada@example.com', subject: expect.any(String), link: 'https://x.test/activate?token=abc' });
    expect(first.text).toContain('24 hours');
    expect(second).toMatchObject({ event: 'mail', template: 'already-registered' });
    expect(second).not.toHaveProperty('link');
  });

  it('writes security events as JSON lines with a timestamp', () => {
    const lines: string[] = [];
    jsonEventLog((l) => lines.push(l), () => 0)('login_failed', { accountId: 'x' });
    expect(JSON.parse(lines[0]!)).toEqual({ event: 'login_failed', at: '1970-01-01T00:00:00.000Z', accountId: 'x' });
  });
});

describe(`configuration (${backend.name})`, () => {
  it('has documented defaults', () => {
    const c = loadConfig({ PUBLIC_URL: 'https://auth.example.com/' });
    expect(c).toEqual({
      publicUrl: 'https://auth.example.com',
      mode: 'production',
      tokenTtlSeconds: 86400,
      resetTokenTtlSeconds: 3600,
      emailChangeTtlSeconds: 3600,
      emailUndoTtlSeconds: 7 * 86400,
      passwordPolicy: { minLength: 15, maxLength: 256 },
      scrypt: { logN: 14, r: 8, p: 5 },
      mail: {
        transport: 'log',
        from: 'no-reply@auth.example.com',
        appName: 'Latchkey',
        timeoutMs: 10_000,
        retrySeconds: 10,
        outboxCapacity: 10_000,
        dataKey: undefined,
        smtp: undefined,
        webhook: undefined,
      },
      hashMaxInFlight: undefined,
      hashMaxQueued: 64,
      throttle: DEFAULT_THROTTLE,
      devices: { ttlSeconds: 90 * 86400, maxFailures: 5 },
      sessions: { idleSeconds: 7 * 86400, maxSeconds: 30 * 86400 },
      trustedProxies: [],
      corsOrigins: [],
      purgeGraceSeconds: 7 * 86400,
      purgeIntervalSeconds: 3600,
      breachedPasswords: { check: 'pwned', url: 'https://api.pwnedpasswords.com/range/', timeoutMs: 1500 },
      turnstile: undefined,
    });
    expect(loadConfig({ PUBLIC_URL: 'https://example.com/auth/' }).publicUrl).toBe('https://example.com/auth');
  });

  it('refuses bad values with a message naming the variable', () => {
    expect(() => loadConfig({})).toThrow(/PUBLIC_URL/);
    expect(() => loadConfig({ PUBLIC_URL: 'ftp://x' })).toThrow(ConfigError);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', MAIL_TIMEOUT_MS: '0' })).toThrow(/MAIL_TIMEOUT_MS/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test/?a=1' })).toThrow(/query/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', TOKEN_TTL_SECONDS: 'soon' })).toThrow(/TOKEN_TTL_SECONDS/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', PASSWORD_MIN_LENGTH: '4' })).toThrow(/PASSWORD_MIN_LENGTH/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', SCRYPT_LOG_N: '17' })).toThrow(/scrypt/);
    // An idle timeout under two hours would end busy sessions, whose last-seen moves hourly.
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', SESSION_IDLE_SECONDS: '7199' })).toThrow(/SESSION_IDLE_SECONDS/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', SESSION_MAX_SECONDS: '3600' })).toThrow(/SESSION_MAX_SECONDS/);
    expect(() => loadConfig({ PUBLIC_URL: 'https://x.test', SESSION_IDLE_SECONDS: '86400', SESSION_MAX_SECONDS: '7200' })).toThrow(
      /SESSION_MAX_SECONDS must not be less than SESSION_IDLE_SECONDS/,
    );
    expect(loadConfig({ PUBLIC_URL: 'https://x.test', SESSION_IDLE_SECONDS: '7200', SESSION_MAX_SECONDS: '7200' }).sessions).toEqual({ idleSeconds: 7200, maxSeconds: 7200 });
  });

  it('refuses mail settings that cannot work, naming the variable and never echoing a secret', () => {
    const base = { PUBLIC_URL: 'https://x.test' };
    const refusal = (vars: Record<string, string>) => {
      try {
        loadConfig({ ...base, ...vars });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error(`accepted ${JSON.stringify(vars)}`);
    };
    expect(refusal({ MAIL_TRANSPORT: 'carrier-pigeon' })).toMatch(/MAIL_TRANSPORT must be one of log, smtp, webhook, cloudflare/);
    expect(refusal({ MAIL_TRANSPORT: 'smtp', SMTP_URL: 'smtp://u:p@mail.x.test:587' })).toMatch(/MAIL_FROM must be set/);
    const from = { MAIL_FROM: 'Accounts <accounts@x.test>' };
    expect(refusal({ MAIL_TRANSPORT: 'smtp', ...from })).toMatch(/SMTP_URL must be set/);
    const secretUrl = refusal({ MAIL_TRANSPORT: 'smtp', ...from, SMTP_URL: 'http://user:hunter2-secret@mail.x.test' });
    expect(secretUrl).toMatch(/SMTP_URL/);
    expect(secretUrl).not.toContain('hunter2');
    expect(refusal({ MAIL_TRANSPORT: 'webhook', ...from, MAIL_WEBHOOK_URL: 'https://hooks.x.test/mail' })).toMatch(/MAIL_WEBHOOK_SECRET must be set/);
    const shortSecret = refusal({ MAIL_TRANSPORT: 'webhook', ...from, MAIL_WEBHOOK_URL: 'https://hooks.x.test/mail', MAIL_WEBHOOK_SECRET: 'short-secret' });
    expect(shortSecret).toMatch(/MAIL_WEBHOOK_SECRET must be at least 32/);
    expect(shortSecret).not.toContain('short-secret');
    expect(refusal({ MAIL_TRANSPORT: 'webhook', ...from, MAIL_WEBHOOK_URL: 'ftp://x', MAIL_WEBHOOK_SECRET: 'a'.repeat(32) })).toMatch(/MAIL_WEBHOOK_URL/);
    for (const bad of ['no-at-sign', 'Name <a@b.test>\r\nBcc: x@y.test', 'two@x.test, three@x.test', '<>']) expect(refusal({ MAIL_FROM: bad })).toMatch(/MAIL_FROM/);
    const badKey = refusal({ DATA_KEY: 'not-a-key-hunter2' });
    expect(badKey).toMatch(/DATA_KEY must be 32 random bytes/);
    expect(badKey).not.toContain('hunter2');
    expect(refusal({ MAIL_RETRY_SECONDS: '0' })).toMatch(/MAIL_RETRY_SECONDS/);
    expect(refusal({ MAIL_OUTBOX_MAX: '-1' })).toMatch(/MAIL_OUTBOX_MAX/);
    expect(refusal({ MAIL_TIMEOUT_MS: '0' })).toMatch(/MAIL_TIMEOUT_MS/);

    const smtp = loadConfig({ ...base, MAIL_TRANSPORT: 'smtp', ...from, SMTP_URL: 'smtps://u:p@mail.x.test:465', SMTP_CA_FILE: '/etc/ca.pem', APP_NAME: 'Acme' });
    expect(smtp.mail).toMatchObject({ transport: 'smtp', from: 'Accounts <accounts@x.test>', appName: 'Acme', smtp: { url: 'smtps://u:p@mail.x.test:465', caFile: '/etc/ca.pem' } });
    const key = loadConfig({ ...base, DATA_KEY: '00'.repeat(32) }).mail.dataKey;
    expect(key && Array.from(key)).toEqual(new Array(32).fill(0));
  });

  it('warns at start when a public PUBLIC_URL mails through the log transport, and only then', () => {
    expect(mailWarning(loadConfig({ PUBLIC_URL: 'https://x.test' })).mailWarning).toMatch(/MAIL_TRANSPORT is log/);
    expect(mailWarning(loadConfig({ PUBLIC_URL: 'http://localhost:8787' }))).toEqual({});
    const webhook = { MAIL_TRANSPORT: 'webhook', MAIL_FROM: 'a@x.test', MAIL_WEBHOOK_URL: 'https://h.x.test', MAIL_WEBHOOK_SECRET: 'a'.repeat(32) };
    expect(mailWarning(loadConfig({ PUBLIC_URL: 'https://x.test', ...webhook }))).toEqual({});
  });
});
