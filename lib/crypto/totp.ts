/**
 * Authenticator codes (RFC 6238 TOTP) and recovery codes, through `otpauth` (HMAC from
 * @noble/hashes on Workers, node:crypto on Node): SHA-1, 6 digits, 30-second steps and a 160-bit
 * secret, the defaults every authenticator app reads from an otpauth:// URI.
 *
 * Codes are checked here and nowhere else: every candidate step is computed and compared in
 * constant time, whatever the code, so that a right code and a wrong one cost the same work.
 */
import { Secret, TOTP } from 'otpauth';
import { constantTimeEqual, tokenDigest } from './tokens.ts';

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
/** Steps either side of now that are accepted, for the clock of the phone (RFC 6238 §6). */
export const TOTP_WINDOW = 1;
const SECRET_BYTES = 20;

/** A new secret: 160 random bits, as base32 (what the app is given, and what is sealed at rest). */
export const newTotpSecret = (): string => new Secret({ size: SECRET_BYTES }).base32;

/** The URI an authenticator app reads (from a QR code, or typed in): issuer and address as its label. */
export function totpUri(secret: string, issuer: string, account: string): string {
  return new TOTP({ issuer, label: account, secret: Secret.fromBase32(secret) }).toString();
}

/** The time step that `now` (milliseconds) falls in. */
export const stepAt = (now: number) => Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);

/** The code of one step: for tests and the dummy check, and the one thing matchingStep compares. */
export function codeAt(secret: string, step: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: step * TOTP_PERIOD_SECONDS * 1000 });
}

/** Whether text looks like an authenticator code: what tells a `code` from a recovery code. */
export const isTotpCode = (text: string) => /^[0-9]{6}$/.test(text.replace(/\s+/g, ''));

/**
 * The step within ±TOTP_WINDOW of now whose code `code` is, or null. Each of the three candidate
 * codes is computed and compared, whether or not an earlier one matched.
 */
export function matchingStep(secret: string, code: string, now: number): number | null {
  const given = code.replace(/\s+/g, '');
  const current = stepAt(now);
  let found: number | null = null;
  for (let delta = -TOTP_WINDOW; delta <= TOTP_WINDOW; delta++) {
    const step = current + delta;
    if (constantTimeEqual(codeAt(secret, step), given) && found === null) found = step;
  }
  return found;
}

/** A fixed secret for the work of a check that has no real secret to check against. */
export const DUMMY_SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';

// Recovery codes: 80 random bits each, as four groups of four base32 letters (no 0/1/8/9 to
// misread), so that a stolen table of their SHA-256 digests cannot be searched back to a code.
const RECOVERY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const RECOVERY_CODE_COUNT = 10;

export function newRecoveryCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const letters = Array.from(bytes, (byte) => RECOVERY_ALPHABET[byte & 31]).join('');
  return letters.match(/.{4}/g)!.join('-').toLowerCase();
}

/** The form a recovery code is compared in: case, spaces and dashes as the person typed them do not matter. */
export const normalRecoveryCode = (text: string) => text.replace(/[\s-]+/g, '').toUpperCase();

export const isRecoveryCode = (text: string) => /^[A-Z2-7]{16}$/.test(normalRecoveryCode(text));

/** What is stored of a recovery code: its SHA-256, never the code. */
export const recoveryCodeDigest = (text: string) => tokenDigest(`recovery:${normalRecoveryCode(text)}`);
