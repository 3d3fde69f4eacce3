/**
 * Email addresses: the WHATWG HTML "valid e-mail address" syntax with RFC 5321's length limits,
 * checked on the IDNA (punycode) form of the domain. Two forms come out: the address as the person
 * typed it (trimmed), for display and mail, and a lowercase key that makes uniqueness
 * case-insensitive on the whole address.
 */
import { domainToUnicode } from 'node:url';

export interface ParsedEmail {
  /** As typed, trimmed: what mails are addressed to and what the user sees. */
  display: string;
  /** Lowercase local part @ lowercase ASCII (IDNA) domain: what uniqueness is checked on. */
  key: string;
}

export type EmailResult = { ok: true; email: ParsedEmail } | { ok: false; detail: string };

const LOCAL_PART = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Characters that a URL parser would treat as structure rather than as part of a host name.
const NOT_IN_DOMAIN = /[\s/\\?#@:[\]%<>^|"'`{}]/;

export const MAX_EMAIL_LENGTH = 254;
export const MAX_LOCAL_LENGTH = 64;

/** The domain in ASCII (UTS #46 via the WHATWG URL parser, present in Node and Workers). */
function asciiDomain(domain: string): string | null {
  if (domain === '' || NOT_IN_DOMAIN.test(domain)) return null;
  try {
    const host = new URL(`http://${domain}/`).hostname;
    return host === '' ? null : host;
  } catch {
    return null;
  }
}

const sameApartFromCase = (a: string, b: string) => a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();

/**
 * True if UTS #46 changed nothing but letter case: each label as typed is its ASCII form or the
 * Unicode form of that, apart from case. Otherwise the mapping dropped or replaced something (a
 * soft hyphen, a zero-width space, a full-width letter or dot), and the key would name the owner's
 * address while the stored address and the mail's recipient kept the spelling someone else chose.
 */
function isCanonical(typed: string, ascii: string): boolean {
  const labels = typed.split('.');
  const canonical = ascii.split('.');
  return (
    labels.length === canonical.length &&
    labels.every((label, i) => {
      const a = canonical[i]!;
      return label.toLowerCase() === a || (a.startsWith('xn--') && sameApartFromCase(label, domainToUnicode(a)));
    })
  );
}

/**
 * The URL parser reads a host whose last label is a number (127.0.0.1, 0x7f.1, 2130706433) as an
 * IPv4 address; a mailer would connect to it, internal hosts included. No top-level domain is
 * all-numeric (RFC 3696 §2), so any such last label is refused, before and after mapping.
 */
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)\.?$/i;

export function parseEmail(input: string): EmailResult {
  const display = input.trim();
  if (display === '') return { ok: false, detail: 'Enter an email address.' };
  const at = display.lastIndexOf('@');
  if (at <= 0 || at === display.length - 1) {
    return { ok: false, detail: 'An email address needs a name, an @ and a domain.' };
  }
  const local = display.slice(0, at);
  if (!LOCAL_PART.test(local)) {
    return { ok: false, detail: 'The part before the @ has characters an email address cannot have.' };
  }
  if (local.length > MAX_LOCAL_LENGTH) {
    return { ok: false, detail: `The part before the @ may have at most ${MAX_LOCAL_LENGTH} characters.` };
  }
  const typed = display.slice(at + 1);
  const domain = asciiDomain(typed);
  if (domain === null || !domain.split('.').every((label) => LABEL.test(label))) {
    return { ok: false, detail: 'The part after the @ is not a valid domain.' };
  }
  if (NUMERIC_LAST_LABEL.test(typed) || NUMERIC_LAST_LABEL.test(domain)) {
    return { ok: false, detail: 'The part after the @ must be a domain name, not an IP address.' };
  }
  if (!isCanonical(typed, domain)) {
    return { ok: false, detail: 'The part after the @ has characters that do not belong in it (invisible, full-width or otherwise changed); type the domain plainly.' };
  }
  const key = `${local.toLowerCase()}@${domain}`;
  if (key.length > MAX_EMAIL_LENGTH) {
    return { ok: false, detail: `An email address may have at most ${MAX_EMAIL_LENGTH} characters.` };
  }
  return { ok: true, email: { display, key } };
}
