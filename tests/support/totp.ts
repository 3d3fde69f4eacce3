/**
 * RFC 6238 computed here, apart from the code under test (node:crypto's HMAC, not otpauth), so
 * that the tests make codes as an authenticator app would: from the secret and the harness clock.
 */
import { createHmac } from 'node:crypto';
import { expect } from 'vitest';
import { DEVICE_HEADER } from '../../lib/http/device-header.ts';
import { GOOD_PASSWORD, type Harness } from './harness.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Bytes(text: string): Uint8Array {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    value = (value << 5) | ALPHABET.indexOf(ch);
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Uint8Array.from(out);
}

/** RFC 6238 with SHA-1: the code of the 30-second step that `ms` falls in, plus `steps`. */
export function rfc6238(key: Uint8Array, ms: number, digits = 6, steps = 0): string {
  const counter = Math.floor(ms / 1000 / 30) + steps;
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(message).digest();
  const offset = mac[mac.length - 1]! & 15;
  const binary = ((mac[offset]! & 127) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(binary % 10 ** digits).padStart(digits, '0');
}

/** The code an app holding `secret` shows at the harness's time (`steps` away from it). */
export const codeNow = (h: Harness, secret: string, steps = 0) => rfc6238(base32Bytes(secret), h.clock.now, 6, steps);

/** A code that is none of the three the server accepts now. */
export function wrongCode(h: Harness, secret: string): string {
  const accepted = new Set([-1, 0, 1].map((s) => codeNow(h, secret, s)));
  for (let n = 0; ; n++) {
    const code = String(n).padStart(6, '0');
    if (!accepted.has(code)) return code;
  }
}

export const STEP_MS = 30_000;

export interface Enrolled {
  session: string;
  secret: string;
  recoveryCodes: string[];
}

/** An active account with an authenticator on: set up and enabled through the API, as its owner would. */
export async function enrol(h: Harness, email: string, password = GOOD_PASSWORD): Promise<Enrolled> {
  await h.createActiveAccount(email, password);
  const session = await h.logIn(email, password);
  const setup = await h.bearer('POST', '/mfa/totp/setup', session, { password });
  expect(setup.status).toBe(200);
  const { secret } = (await setup.json()) as { secret: string };
  const enabled = await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret) });
  expect(enabled.status).toBe(200);
  const { recoveryCodes } = (await enabled.json()) as { recoveryCodes: string[] };
  // The enabling code's step is spent: the owner's next code is the next step's.
  h.clock.now += STEP_MS;
  return { session, secret, recoveryCodes };
}

/** POST /login, expecting the 202 of an account with TOTP on: its challenge. */
export async function challengeFor(h: Harness, email: string, password = GOOD_PASSWORD, device?: string): Promise<string> {
  const res = await h.post('/login', { email, password }, device === undefined ? {} : { [DEVICE_HEADER]: device });
  expect(res.status).toBe(202);
  const body = (await res.json()) as { status: string; challenge: string };
  expect(body.status).toBe('mfa_required');
  return body.challenge;
}

/** Both steps of a login with an app's code: the session token and device token. */
export async function logInWithCode(h: Harness, email: string, secret: string, password = GOOD_PASSWORD, device?: string) {
  const challenge = await challengeFor(h, email, password, device);
  const res = await h.post('/login/mfa', { challenge, code: codeNow(h, secret) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { session: { token: string }; device: { token: string } };
  return { session: body.session.token, device: body.device.token };
}
