/**
 * Activation tokens: 256 random bits, shown once in the mail link, stored only as SHA-256.
 * A leaked database therefore holds no usable link.
 */
import * as nodeCrypto from 'node:crypto';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

// One call, without a Hash object: a quarter of createHash()'s time on the session check and the
// link lookups. Node has it from 20.12 (and workerd); older Nodes take the longer way.
const hashOnce = (nodeCrypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }).hash;

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_PATTERN.test(token);
}

export function tokenDigest(token: string): string {
  return hashOnce ? hashOnce('sha256', token, 'hex') : createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Equal-length strings compared without early exit; different lengths are simply unequal. */
export function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Session tokens, `id.secret` (lib/flows/sessions.ts): the id finds the row through its primary
 * key, and the secret (256 random bits) is compared in constant time against its stored SHA-256,
 * so that neither a leaked table nor a timing difference in the index lookup yields a usable token.
 */
const SESSION_ID_BYTES = 16;
const SESSION_TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export interface SessionToken {
  id: string;
  secret: string;
}

/** A public id for a row (a session's, a device's): random, so it says nothing about the secret. */
export function newPublicId(): string {
  return randomBytes(SESSION_ID_BYTES).toString('base64url');
}

export function newSessionToken(): SessionToken & { token: string } {
  const id = newPublicId();
  const secret = newToken();
  return { id, secret, token: `${id}.${secret}` };
}

/** The parts of a well-formed session token; null for anything else. */
export function parseSessionToken(token: unknown): SessionToken | null {
  const m = typeof token === 'string' ? SESSION_TOKEN_PATTERN.exec(token) : null;
  return m ? { id: m[1]!, secret: m[2]! } : null;
}
