import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { COMMON_PASSWORDS } from '../lib/policy/common-passwords-data.ts';
import { DEFAULT_PASSWORD_POLICY, passwordProblems } from '../lib/policy/password-policy.ts';
import { createPasswordHasher, DEFAULT_SCRYPT, hashPassword, needsRehash, parseHash, scryptParamsProblem, verifyPassword } from '../lib/crypto/passwords.ts';
import { createHarness, GOOD_PASSWORD } from './support/harness.ts';

const FAST = { logN: 4, r: 8, p: 1 };
const policy = DEFAULT_PASSWORD_POLICY;

describe(`password hashing (${backend.name})`, () => {
  it('stores a self-describing scrypt string with a random 16-byte salt', async () => {
    const a = await hashPassword(GOOD_PASSWORD, FAST);
    const b = await hashPassword(GOOD_PASSWORD, FAST);
    expect(a).toMatch(/^\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    expect(a).not.toBe(b);
    expect(parseHash(a)?.salt).toHaveLength(16);
    expect(await verifyPassword(GOOD_PASSWORD, a)).toBe(true);
    expect(await verifyPassword(`${GOOD_PASSWORD}!`, a)).toBe(false);
    expect(await verifyPassword(GOOD_PASSWORD, 'garbage')).toBe(false);
  });

  it('hashes and verifies with the production parameters (N=2^14, r=8, p=5) on this runtime', async () => {
    expect(DEFAULT_SCRYPT).toEqual({ logN: 14, r: 8, p: 5 });
    expect(scryptParamsProblem(DEFAULT_SCRYPT)).toBeNull();
    const hasher = createPasswordHasher(DEFAULT_SCRYPT);
    const stored = await hasher.hash(GOOD_PASSWORD);
    expect(stored.startsWith('$scrypt$ln=14,r=8,p=5$')).toBe(true);
    expect(await hasher.verify(GOOD_PASSWORD, stored)).toBe(true);
    expect(await hasher.verify('wrong horse battery staple', stored)).toBe(false);
    expect(hasher.needsRehash(stored)).toBe(false);
  }, 60_000);

  it('refuses parameters that workerd or a 128 MB isolate cannot run', () => {
    expect(scryptParamsProblem({ logN: 17, r: 8, p: 1 })).toMatch(/64 MiB/);
    // Just over 64 MiB: N=2^16 with r=8 needs 128·8·(2^16+2) bytes plus its p blocks.
    expect(scryptParamsProblem({ logN: 16, r: 8, p: 1 })).toMatch(/64 MiB/);
    expect(scryptParamsProblem({ logN: 15, r: 8, p: 1 })).toBeNull();
    expect(scryptParamsProblem({ logN: 14, r: 8, p: 1.5 })).toMatch(/integers/);
    // The smallest cost the configuration accepts (SCRYPT_LOG_N=1) is one scrypt can run.
    expect(scryptParamsProblem({ logN: 1, r: 1, p: 1 })).toBeNull();
    expect(scryptParamsProblem({ logN: 0, r: 1, p: 1 })).toMatch(/out of range/);
    expect(scryptParamsProblem({ logN: 16, r: 8, p: 3 })).toMatch(/2\^20/);
    expect(scryptParamsProblem({ logN: 15, r: 8, p: 3 })).toBeNull();
  });

  it('asks for a rehash when the stored parameters differ from the configured ones', async () => {
    const stored = await hashPassword(GOOD_PASSWORD, FAST);
    expect(needsRehash(stored, FAST)).toBe(false);
    expect(needsRehash(stored, { ...FAST, logN: 5 })).toBe(true);
    expect(needsRehash('not a hash', FAST)).toBe(true);
  });
});

describe(`password policy (${backend.name})`, () => {
  it('asks for at least 15 code points by default and allows long passphrases', () => {
    expect(passwordProblems('fourteen chars', null, policy)[0]).toMatch(/at least 15/);
    expect(passwordProblems('fifteen chars!!', null, policy)).toEqual([]);
    expect(passwordProblems('🔑'.repeat(7) + 'x', null, policy)[0]).toMatch(/at least 15/);
    expect(passwordProblems('a quiet river at dawn '.repeat(11).slice(0, 256), null, policy)).toEqual([]);
    expect(passwordProblems('x'.repeat(257), null, policy)[0]).toMatch(/at most 256/);
  });

  it('has no composition rules: lowercase words and spaces are fine', () => {
    expect(passwordProblems('correct horse battery staple', null, policy)).toEqual([]);
  });

  it('rejects repetitive and sequential strings', () => {
    for (const pw of ['aaaaaaaaaaaaaaaa', 'abababababababab', 'abcabcabcabcabca', '1234123412341234', 'abcdefghijklmnop', '123456789012345678', 'zyxwvutsrqponmlk']) {
      expect(passwordProblems(pw, null, policy), pw).not.toEqual([]);
    }
  });

  it('rejects the address itself and its local part', () => {
    expect(passwordProblems('someone.special@example.com', 'someone.special@example.com', policy)).toContain(
      'Do not use your email address as your password.',
    );
    expect(passwordProblems('Someone.Special.Person', 'someone.special.person@example.com', policy)).toContain(
      'Do not use your email address as your password.',
    );
  });

  it('ships the list the README and docs/blocklist.md describe: 54,076 entries, 5,000 of 15+ code points', () => {
    const entries = COMMON_PASSWORDS.split('\n');
    expect(entries).toHaveLength(54_076);
    expect(entries.filter((p) => Array.from(p).length >= 15)).toHaveLength(5_000);
    expect(new Set(entries).size).toBe(entries.length);
    expect(entries.every((p) => Array.from(p).length >= 8 && p === p.normalize('NFC').toLowerCase())).toBe(true);
  });

  it('rejects common passwords from the shipped list, case-insensitively', () => {
    const long = COMMON_PASSWORDS.split('\n').filter((p) => Array.from(p).length >= 15);
    expect(long.length).toBeGreaterThanOrEqual(3000);
    for (const pw of [long[0]!, long[long.length - 1]!, long[0]!.toUpperCase()]) {
      expect(passwordProblems(pw, null, policy)).toContain('This password is on a list of commonly used passwords.');
    }
    const short = { minLength: 8, maxLength: 256 };
    expect(passwordProblems('Password1', null, short)).toContain('This password is on a list of commonly used passwords.');
    expect(passwordProblems('baseball', null, short)).toContain('This password is on a list of commonly used passwords.');
  });

  it('applies a configured minimum through the register endpoint', async () => {
    const h = await createHarness({ PASSWORD_MIN_LENGTH: '20' });
    const res = await h.post('/register', { email: 'min@example.com', password: 'nineteen characters' });
    expect(res.status).toBe(422);
    expect((await h.post('/register', { email: 'min@example.com', password: 'twenty characters ok' })).status).toBe(202);
  });

  it('refuses a common password at registration with a reason', async () => {
    const h = await createHarness();
    const common = COMMON_PASSWORDS.split('\n').find((p) => Array.from(p).length >= 15)!;
    const res = await h.post('/register', { email: 'common@example.com', password: common });
    expect(res.status).toBe(422);
    expect(JSON.stringify(await res.json())).toContain('commonly used');
  });
});
