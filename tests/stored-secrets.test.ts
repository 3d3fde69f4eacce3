/**
 * What a stored hash or token may and may not do, seen from outside: a stored value that is not
 * what we wrote never decides a login, never sizes scrypt's memory, and never turns into a 500.
 */
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { hashPassword, needsRehash, parseHash, verifyPassword } from '../lib/crypto/passwords.ts';
import { constantTimeEqual, isWellFormedToken, newToken, tokenDigest } from '../lib/crypto/tokens.ts';
import { createHarness, GOOD_PASSWORD, harnessOn, OTHER_PASSWORD } from './support/harness.ts';

const FAST = { logN: 4, r: 8, p: 1 };

/** The stored string with one of its parts replaced. */
function withPart(stored: string, index: 2 | 3 | 4, value: string): string {
  const parts = stored.split('$');
  parts[index] = value;
  return parts.join('$');
}

describe(`stored password hashes (${backend.name})`, () => {
  it('refuses a stored hash whose parameters no runtime here may run, instead of sizing scrypt from it', async () => {
    const stored = await hashPassword(GOOD_PASSWORD, FAST);
    for (const params of ['ln=21,r=8,p=1', 'ln=30,r=8,p=1', 'ln=14,r=8,p=64', 'ln=0,r=8,p=1', 'ln=4,r=0,p=1', 'ln=4,r=8,p=0', 'ln=17,r=8,p=1']) {
      const absurd = withPart(stored, 2, params);
      expect(parseHash(absurd), params).toBeNull();
      await expect(verifyPassword(GOOD_PASSWORD, absurd), params).resolves.toBe(false);
      expect(needsRehash(absurd, FAST), params).toBe(true);
    }
    // The same string with sane parameters parses: the refusal is about the parameters alone.
    expect(parseHash(withPart(stored, 2, 'ln=5,r=8,p=1'))?.params).toEqual({ logN: 5, r: 8, p: 1 });
  });

  it('answers a stored key of the wrong length with "wrong password", not an error', async () => {
    const stored = await hashPassword(GOOD_PASSWORD, FAST);
    const key = stored.split('$')[4]!;
    for (const other of [key.slice(0, 22), `${key}AAAAAAAAAAAAAAAAAAAAAA`]) {
      await expect(verifyPassword(GOOD_PASSWORD, withPart(stored, 4, other))).resolves.toBe(false);
    }
  });

  it('a damaged account row gets the same 401 as a wrong password, through the handler', async () => {
    const h = await createHarness();
    await h.createActiveAccount('damaged@example.com');
    const row = await h.db.prepare('SELECT password_hash AS hash FROM accounts').first<{ hash: string }>();
    const key = row!.hash.split('$')[4]!;
    await h.db.prepare('UPDATE accounts SET password_hash = ?').bind(withPart(row!.hash, 4, key.slice(0, 22))).run();
    expect((await h.post('/login', { email: 'damaged@example.com', password: GOOD_PASSWORD })).status).toBe(401);
    await h.db.prepare('UPDATE accounts SET password_hash = ?').bind(withPart(row!.hash, 2, 'ln=30,r=8,p=1')).run();
    expect((await h.post('/login', { email: 'damaged@example.com', password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('asks for a rehash when any one parameter differs: N, r or p', async () => {
    const stored = await hashPassword(GOOD_PASSWORD, FAST);
    expect(needsRehash(stored, FAST)).toBe(false);
    expect(needsRehash(stored, { ...FAST, logN: 5 })).toBe(true);
    expect(needsRehash(stored, { ...FAST, r: 9 })).toBe(true);
    expect(needsRehash(stored, { ...FAST, p: 2 })).toBe(true);
  });

  it('an account hashed with two-digit r or p (SCRYPT_R and SCRYPT_P go up to 64) still logs in', async () => {
    for (const vars of [
      { SCRYPT_LOG_N: '4', SCRYPT_R: '16', SCRYPT_P: '1' },
      { SCRYPT_LOG_N: '4', SCRYPT_R: '1', SCRYPT_P: '12' },
      { SCRYPT_LOG_N: '1', SCRYPT_R: '64', SCRYPT_P: '64' },
    ]) {
      const h = await createHarness(vars);
      await h.createActiveAccount('params@example.com');
      const row = await h.db.prepare('SELECT password_hash AS hash FROM accounts').first<{ hash: string }>();
      expect(row!.hash.startsWith(`$scrypt$ln=${vars.SCRYPT_LOG_N},r=${vars.SCRYPT_R},p=${vars.SCRYPT_P}$`)).toBe(true);
      expect((await h.post('/login', { email: 'params@example.com', password: GOOD_PASSWORD })).status, JSON.stringify(vars)).toBe(200);
      expect((await h.post('/login', { email: 'params@example.com', password: OTHER_PASSWORD })).status, JSON.stringify(vars)).toBe(401);
    }
  });

  it('a login with different r or p rehashes to the configured ones', async () => {
    const h = await createHarness({ SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1' });
    await h.createActiveAccount('params@example.com');
    for (const [vars, expected] of [
      [{ SCRYPT_LOG_N: '4', SCRYPT_R: '4', SCRYPT_P: '1' }, /^\$scrypt\$ln=4,r=4,p=1\$/],
      [{ SCRYPT_LOG_N: '4', SCRYPT_R: '4', SCRYPT_P: '2' }, /^\$scrypt\$ln=4,r=4,p=2\$/],
    ] as const) {
      const next = harnessOn(h.db, vars);
      expect((await next.post('/login', { email: 'params@example.com', password: GOOD_PASSWORD })).status).toBe(200);
      const row = await h.db.prepare('SELECT password_hash AS hash FROM accounts').first<{ hash: string }>();
      expect(row!.hash).toMatch(expected);
    }
  });
});

describe(`activation tokens (${backend.name})`, () => {
  it('two different digests never compare equal, whatever their lengths', () => {
    const a = tokenDigest(newToken());
    const b = tokenDigest(newToken());
    expect(constantTimeEqual(a, a)).toBe(true);
    expect(constantTimeEqual(a, `${a}`)).toBe(true);
    expect(constantTimeEqual(a, b)).toBe(false);
    // One character apart, at the start and at the end.
    expect(constantTimeEqual(a, (a[0] === '0' ? '1' : '0') + a.slice(1))).toBe(false);
    expect(constantTimeEqual(a, a.slice(0, -1) + (a.at(-1) === '0' ? '1' : '0'))).toBe(false);
    expect(constantTimeEqual(a, a.slice(0, -1))).toBe(false);
    expect(constantTimeEqual(a, '')).toBe(false);
  });

  it('a link whose token differs from a real one by a character activates nothing', async () => {
    const h = await createHarness();
    const token = await h.registerAndGetToken('near@example.com');
    for (const near of [(token[0] === 'A' ? 'B' : 'A') + token.slice(1), token.slice(0, -1) + (token.at(-1) === 'A' ? 'B' : 'A')]) {
      expect((await h.post('/activate', { token: near, password: GOOD_PASSWORD })).status).toBe(400);
    }
    expect((await h.post('/login', { email: 'near@example.com', password: GOOD_PASSWORD })).status).toBe(401);
  });

  it('takes exactly 43 base64url characters as a token, nothing longer, shorter or outside the alphabet', () => {
    const token = newToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(isWellFormedToken(token)).toBe(true);
    // A value that only turns into a token when made a string (an array holding one) is not one.
    expect(isWellFormedToken([token])).toBe(false);
    for (const bad of [token.slice(1), `${token}A`, `${token.slice(1)}+`, `${token.slice(1)}/`, `${token.slice(1)}=`, ` ${token.slice(1)}`, `x${token}`, 42, null]) {
      expect(isWellFormedToken(bad), String(bad)).toBe(false);
    }
  });

  it('stores SHA-256 digests: 64 hex characters, different for different tokens', () => {
    const digest = tokenDigest('A'.repeat(43));
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).toBe(tokenDigest('A'.repeat(43)));
    expect(digest).not.toBe(tokenDigest(`${'A'.repeat(42)}B`));
  });
});
