import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { createHarness, harnessOn, FAST_SCRYPT, GOOD_PASSWORD, OTHER_PASSWORD } from './support/harness.ts';

describe(`login (${backend.name})`, () => {
  it('answers a wrong password and an unknown address with the same 401, after one hash each', async () => {
    const h = await createHarness();
    await h.createActiveAccount('known@example.com');
    const answers = [];
    for (const email of ['known@example.com', 'nobody@example.com']) {
      const before = h.hashes.verify;
      const res = await h.post('/login', { email, password: OTHER_PASSWORD });
      expect(res.status).toBe(401);
      expect(h.hashes.verify - before).toBe(1);
      answers.push(await res.text());
    }
    expect(answers[0]).toBe(answers[1]);
  });

  it('answers a registration that is not activated yet with the same 401, even with its own password', async () => {
    const h = await createHarness();
    await h.registerAndGetToken('waiting@example.com');
    const right = await h.post('/login', { email: 'waiting@example.com', password: GOOD_PASSWORD });
    const wrong = await h.post('/login', { email: 'waiting@example.com', password: OTHER_PASSWORD });
    expect(right.status).toBe(401);
    expect(await right.text()).toBe(await wrong.text());
  });

  it('matches the address case-insensitively and the password exactly', async () => {
    const h = await createHarness();
    await h.createActiveAccount('Mixed.Case@Example.com');
    expect((await h.post('/login', { email: 'mixed.case@EXAMPLE.COM', password: GOOD_PASSWORD })).status).toBe(200);
    expect((await h.post('/login', { email: 'mixed.case@example.com', password: GOOD_PASSWORD.toUpperCase() })).status).toBe(401);
    expect((await h.post('/login', { email: 'mixed.case@example.com', password: `${GOOD_PASSWORD} ` })).status).toBe(401);
  });

  it('normalises the password to NFC, so composed and decomposed forms are the same password', async () => {
    const h = await createHarness();
    const composed = 'caf\u00e9 au lait on the terrace';
    const decomposed = 'cafe\u0301 au lait on the terrace';
    await h.createActiveAccount('nfc@example.com', composed);
    expect((await h.post('/login', { email: 'nfc@example.com', password: decomposed })).status).toBe(200);
  });

  it('rehashes on success when the stored parameters are older than the configured ones', async () => {
    const old = await createHarness();
    await old.createActiveAccount('upgrade@example.com');
    const stored = async () =>
      (await old.db.prepare('SELECT password_hash AS h FROM accounts').first<{ h: string }>())!.h;
    const before = await stored();
    expect(before).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$/);

    // Same database, stronger configuration.
    const stronger = harnessOn(old.db, { ...FAST_SCRYPT, SCRYPT_LOG_N: '5' });
    expect((await stronger.post('/login', { email: 'upgrade@example.com', password: OTHER_PASSWORD })).status).toBe(401);
    expect(await stored()).toBe(before);
    expect((await stronger.post('/login', { email: 'upgrade@example.com', password: GOOD_PASSWORD })).status).toBe(200);
    expect(await stored()).toMatch(/^\$scrypt\$ln=5,r=8,p=1\$/);
    expect((await stronger.post('/login', { email: 'upgrade@example.com', password: GOOD_PASSWORD })).status).toBe(200);
    expect(stronger.events.filter((e) => e.event === 'password_rehashed')).toHaveLength(1);
  });
});
