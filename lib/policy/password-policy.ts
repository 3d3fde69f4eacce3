/**
 * Which passwords may be chosen, after NIST SP 800-63B-4: long enough, not absurdly long, no
 * composition rules, and not one an attacker tries first (common, repetitive, sequential, or the
 * address itself). Lengths are counted in Unicode code points after NFC normalisation.
 */
import { COMMON_PASSWORDS } from './common-passwords-data.ts';
import { normalizePassword } from '../crypto/passwords.ts';

export interface PasswordPolicy {
  minLength: number;
  maxLength: number;
}

/**
 * 15 is NIST SP 800-63B-4's minimum for a password that is the only factor; 256 leaves room for
 * passphrases and password managers (NIST asks for at least 64) while bounding hashing work.
 */
export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = { minLength: 15, maxLength: 256 };

let blocklist: Set<string> | undefined;

function isCommon(folded: string): boolean {
  blocklist ??= new Set(COMMON_PASSWORDS.split('\n'));
  return blocklist.has(folded);
}

/** A short pattern repeated over the whole password: "aaaa…", "abcabc…", "1212…". */
function isRepetitive(chars: string[]): boolean {
  for (let period = 1; period <= Math.min(4, chars.length / 2); period++) {
    if (chars.every((ch, i) => ch === chars[i % period])) return true;
  }
  return false;
}

/** A run that steps by +1 or −1 through code points all the way, like "abcdef…" or "987654…". */
function isSequential(chars: string[]): boolean {
  const codes = chars.map((ch) => ch.codePointAt(0)!);
  const step = (i: number) => codes[i + 1]! - codes[i]!;
  const first = step(0);
  if (first !== 1 && first !== -1) return false;
  return codes.slice(0, -1).every((_, i) => step(i) === first || isDigitWrap(codes[i]!, codes[i + 1]!, first));
}

// "…7890123…" counts as sequential: digits wrap around.
function isDigitWrap(a: number, b: number, direction: number): boolean {
  const ZERO = 48;
  const NINE = 57;
  return direction === 1 ? a === NINE && b === ZERO : a === ZERO && b === NINE;
}

/** Problems with the password, as sentences for the person choosing it; empty when it is fine. */
export function passwordProblems(password: string, emailKey: string | null, policy: PasswordPolicy): string[] {
  const normalized = normalizePassword(password);
  const chars = Array.from(normalized);
  if (chars.length < policy.minLength) {
    return [`Use at least ${policy.minLength} characters; a few unrelated words make a good password.`];
  }
  if (chars.length > policy.maxLength) return [`Use at most ${policy.maxLength} characters.`];
  const folded = normalized.toLowerCase();
  const problems: string[] = [];
  if (isRepetitive(chars)) problems.push('Do not repeat the same few characters.');
  else if (isSequential(chars)) problems.push('Do not use a run of consecutive characters.');
  if (isCommon(folded)) problems.push('This password is on a list of commonly used passwords.');
  if (emailKey !== null && (folded === emailKey || folded === emailKey.slice(0, emailKey.lastIndexOf('@')))) {
    problems.push('Do not use your email address as your password.');
  }
  return problems;
}
