import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { ConfigError, DEFAULT_THROTTLE, loadConfig } from '../lib/config/config.ts';
import { jsonEventLog } from '../lib/log.ts';
import { activationMail, alreadyRegisteredMail, logMailSink } from '../lib/mail/mail.ts';

describe(`mail sink (${backend.name})`, () => {
  it('writes each mail as one JSON line, with a link only when the mail has one', async () => {
    const lines: string[] = [];
    const sink = logMailSink((line) => lines.push(line));
    await sink.send(activationMail('ada@example.com', 'https://x.test/activate?token=abc', 86400));
    await sink.send(alreadyRegisteredMail('ada@example.com'));
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
      passwordPolicy: { minLength: 15, maxLength: 256 },
      scrypt: { logN: 14, r: 8, p: 5 },
      mailTimeoutMs: 10_000,
      hashMaxInFlight: undefined,
      hashMaxQueued: 64,
      throttle: DEFAULT_THROTTLE,
      devices: { ttlSeconds: 90 * 86400, maxFailures: 5 },
      sessions: { idleSeconds: 7 * 86400, maxSeconds: 30 * 86400 },
      trustedProxies: [],
      corsOrigins: [],
      purgeGraceSeconds: 7 * 86400,
      purgeIntervalSeconds: 3600,
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
});
