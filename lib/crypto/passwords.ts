/**
 * Password hashing with scrypt from node:crypto: native in Node and in Workers (nodejs_compat),
 * where Web Crypto PBKDF2 is capped at 100,000 iterations in production. Hashes are stored as
 * self-describing strings so that the parameters can be raised later without a migration:
 *   $scrypt$ln=14,r=8,p=5$<salt, base64>$<key, base64>
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  logN: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/**
 * OWASP's Password Storage Cheat Sheet lists N=2^17,r=8,p=1 and equivalents that trade memory
 * for parallelism. N=2^14,r=8,p=5 costs the same CPU as the others while needing 16 MiB, which
 * leaves room in a 128 MB Workers isolate and stays under workerd's N·r·p ≤ 2^20 cap.
 */
export const DEFAULT_SCRYPT: ScryptParams = { logN: 14, r: 8, p: 5 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
const MAX_NRP = 2 ** 20;
const MAX_MEMORY = 64 * 1024 * 1024;

export function scryptMemoryBytes({ logN, r, p }: ScryptParams): number {
  // OpenSSL's estimate: V is 128·r·(N+2) bytes, B is 128·r·p.
  return 128 * r * (2 ** logN + 2) + 128 * r * p;
}

/** Why these parameters cannot run on both runtimes, or null when they can. */
export function scryptParamsProblem(params: ScryptParams): string | null {
  const { logN, r, p } = params;
  if (![logN, r, p].every(Number.isInteger)) return 'scrypt parameters must be integers';
  if (logN < 1 || logN > 20 || r < 1 || p < 1) return 'scrypt parameters out of range';
  if (2 ** logN * r * p > MAX_NRP) return 'scrypt N·r·p must not exceed 2^20 (workerd refuses more)';
  if (scryptMemoryBytes(params) > MAX_MEMORY) return 'scrypt needs more than 64 MiB per hash';
  return null;
}

/** NIST SP 800-63B-4: normalise to NFC so that the same typed password always hashes alike. */
export function normalizePassword(password: string): string {
  return password.normalize('NFC');
}

function deriveKey(password: string, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const N = 2 ** params.logN;
  return new Promise((resolve, reject) => {
    scrypt(
      normalizePassword(password),
      salt,
      KEY_BYTES,
      { N, r: params.r, p: params.p, maxmem: scryptMemoryBytes(params) + 1024 * 1024 },
      (err, key) => (err ? reject(err) : resolve(key)),
    );
  });
}

export async function hashPassword(password: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await deriveKey(password, salt, params);
  return formatHash(params, salt, key);
}

function formatHash(params: ScryptParams, salt: Uint8Array, key: Uint8Array): string {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

// Uint8Array rather than Buffer (which these are): the package's declarations then need no Node types.
interface ParsedHash {
  params: ScryptParams;
  salt: Uint8Array;
  key: Uint8Array;
}

const HASH_PATTERN = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,3}),p=(\d{1,3})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{16,})$/;

export function parseHash(stored: string): ParsedHash | null {
  const m = HASH_PATTERN.exec(stored);
  if (!m) return null;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (scryptParamsProblem(params)) return null;
  return { params, salt: Buffer.from(m[4]!, 'base64'), key: Buffer.from(m[5]!, 'base64') };
}

/** Constant-time comparison of the derived key; false for a malformed stored hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseHash(stored);
  if (!parsed) return false;
  const key = await deriveKey(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

export function needsRehash(stored: string, params: ScryptParams): boolean {
  const parsed = parseHash(stored);
  if (!parsed) return true;
  // Any difference counts: the configured parameters are the ones the operator wants now.
  const { logN, r, p } = parsed.params;
  return logN !== params.logN || r !== params.r || p !== params.p;
}

/** What the handlers use: hashing bound to the configured parameters. */
export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, stored: string): Promise<boolean>;
  /** Costs one verification, like a real one, and always fails: for unknown addresses. */
  verifyDummy(password: string): Promise<false>;
  needsRehash(stored: string): boolean;
  /**
   * True when a hash asked for now would be refused (a full queue). Handlers check it before they
   * charge a throttle, so that a request shed for load does not count against the address.
   */
  busy(): boolean;
}

export function createPasswordHasher(params: ScryptParams): PasswordHasher {
  let dummy: Promise<string> | undefined;
  return {
    hash: (password) => hashPassword(password, params),
    verify: verifyPassword,
    async verifyDummy(password) {
      dummy ??= hashPassword(Buffer.from(randomBytes(24)).toString('base64'), params);
      await verifyPassword(password, await dummy);
      return false;
    },
    needsRehash: (stored) => needsRehash(stored, params),
    busy: () => false,
  };
}
