/**
 * The composition root (functions/latchkey.ts): typed options with today's defaults, the
 * environment as one adapter with the same refusals, and what it hands back (app, deps, purge,
 * drainOutbox). Every other test reaches it through the harness; these look at it directly.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createLatchkey, DEFAULT_HASH_SLOTS, optionsFromEnv } from '../functions/latchkey.ts';
import { ConfigError, loadConfig } from '../lib/config/config.ts';
import { HashQueueFullError } from '../lib/crypto/hash-queue.ts';
import type { PasswordHasher } from '../lib/crypto/passwords.ts';
import { memoryMailbox } from '../lib/mail/mailbox.ts';
import type { OutgoingMail } from '../lib/mail/transport.ts';
import { FAST_SCRYPT, GOOD_PASSWORD, PUBLIC_URL } from './support/harness.ts';

const quiet = () => undefined;

describe(`the composition root (${backend.name})`, () => {
  it('with a database and a PUBLIC_URL only, has the configuration an environment with only PUBLIC_URL gives', async () => {
    for (const publicUrl of [PUBLIC_URL, 'http://localhost:8787/auth/']) {
      const { deps } = createLatchkey({ database: await backend.freshDatabase(), publicUrl, log: quiet });
      expect(deps.config).toEqual(loadConfig({ PUBLIC_URL: publicUrl }));
      expect(deps.mailbox === undefined).toBe(deps.config.mode === 'production');
    }
  });

  it('takes the environment through optionsFromEnv, with the same refusals as before', async () => {
    const vars = { PUBLIC_URL, ...FAST_SCRYPT, LIMIT_LOGIN_PER_CLIENT: '7/60', MAIL_FROM: 'Accounts <a@example.test>' };
    const { deps } = createLatchkey(optionsFromEnv(vars, { database: await backend.freshDatabase(), log: quiet }));
    expect(deps.config).toEqual(loadConfig(vars));
    for (const bad of [{}, { PUBLIC_URL: 'ftp://x' }, { PUBLIC_URL, SCRYPT_LOG_N: '99' }, { PUBLIC_URL, MAIL_TRANSPORT: 'pigeon' }]) {
      let refusal: unknown;
      try {
        loadConfig(bad);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ConfigError);
      expect(() => optionsFromEnv(bad)).toThrow((refusal as Error).message);
    }
  });

  it('uses what the options give: typed settings, a partial mail setting, and the parts a test swaps in', async () => {
    const mails: OutgoingMail[] = [];
    const at = Date.UTC(2026, 0, 15, 12);
    const latchkey = createLatchkey({
      database: await backend.freshDatabase(),
      publicUrl: PUBLIC_URL,
      scrypt: { logN: 4, r: 8, p: 1 },
      // No lookups from a test: the range API is another test's subject (tests/breached-passwords.test.ts).
      breachedPasswords: { check: 'off' },
      passwordPolicy: { minLength: 20, maxLength: 64 },
      mail: { appName: 'Typed' },
      transport: { name: 'log', send: async (mail) => void mails.push(mail) },
      log: quiet,
      now: () => at,
      clientAddress: () => '198.51.100.9',
    });
    expect(latchkey.deps.config.mail).toEqual({ ...loadConfig({ PUBLIC_URL }).mail, appName: 'Typed' });
    // The mail is sent after the answer, as a Worker's waitUntil keeps it: collected here.
    const after: Promise<unknown>[] = [];
    const ctx = { waitUntil: (work: Promise<unknown>) => void after.push(work), passThroughOnException: () => undefined, props: {} };
    const request = (password: string) =>
      latchkey.app.request('/register', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ email: 'ada@example.com', password }) }, undefined, ctx);
    expect((await request('too short for 20')).status).toBe(422);
    const res = await request(GOOD_PASSWORD);
    expect(res.status).toBe(202);
    await Promise.all(after);
    expect(mails.map((m) => [m.to, m.template])).toEqual([['ada@example.com', 'activation']]);
    expect(await latchkey.drainOutbox()).toMatchObject({ sent: 0, retry: 0 }); // nothing left to send
    expect(mails[0]!.link).toMatch(new RegExp(`^${PUBLIC_URL}/activate\\?token=`));
    // Long after the link ran out and the grace passed, purge removes the registration.
    const removed = await latchkey.purge(at + 400 * 86_400_000);
    expect(removed.registrations).toBe(1);
  });

  it('puts the hash queue in front of the hasher: hashSlots, else HASH_MAX_IN_FLIGHT, else 4', async () => {
    const slots = async (options: { hashSlots?: number; hashMaxInFlight?: number }) => {
      let running = 0;
      let most = 0;
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow: PasswordHasher = {
        hash: async () => (running++, (most = Math.max(most, running)), await gate, running--, 'h'),
        verify: async () => false,
        verifyDummy: async () => false as const,
        busy: () => false,
        needsRehash: () => false,
      };
      const { deps } = createLatchkey({ database: await backend.freshDatabase(), publicUrl: PUBLIC_URL, hashMaxQueued: 0, hasher: slow, log: quiet, ...options });
      const calls = Array.from({ length: 10 }, () => deps.hasher.hash('x').catch((error: unknown) => error));
      await new Promise((resolve) => setTimeout(resolve, 0));
      release();
      const refused = (await Promise.all(calls)).filter((r) => r instanceof HashQueueFullError).length;
      return { most, refused };
    };
    expect(await slots({})).toEqual({ most: DEFAULT_HASH_SLOTS, refused: 10 - DEFAULT_HASH_SLOTS });
    expect(await slots({ hashMaxInFlight: 2 })).toEqual({ most: 2, refused: 8 });
    expect(await slots({ hashMaxInFlight: 2, hashSlots: 3 })).toEqual({ most: 3, refused: 7 });
  });

  it('keeps a development mailbox in the one given, and none when told so or in production', async () => {
    const kept = memoryMailbox();
    const dev = createLatchkey({ database: await backend.freshDatabase(), publicUrl: 'http://localhost:8787', mailbox: kept, log: quiet });
    expect(dev.deps.mailbox).toBe(kept);
    expect(createLatchkey({ database: await backend.freshDatabase(), publicUrl: 'http://localhost:8787', mailbox: false, log: quiet }).deps.mailbox).toBeUndefined();
    expect(createLatchkey({ database: await backend.freshDatabase(), publicUrl: PUBLIC_URL, mailbox: kept, log: quiet }).deps.mailbox).toBeUndefined();
  });
});
