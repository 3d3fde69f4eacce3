/**
 * Email addresses: the WHATWG HTML "valid e-mail address" syntax with RFC 5321's length limits,
 * checked on the IDNA (punycode) form of the domain. Two forms come out: the address as the person
 * typed it (trimmed), for display and mail, and a lowercase key that makes uniqueness
 * case-insensitive on the whole address.
 */

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
  const domain = asciiDomain(display.slice(at + 1));
  if (domain === null || !domain.split('.').every((label) => LABEL.test(label))) {
    return { ok: false, detail: 'The part after the @ is not a valid domain.' };
  }
  const key = `${local.toLowerCase()}@${domain}`;
  if (key.length > MAX_EMAIL_LENGTH) {
    return { ok: false, detail: `An email address may have at most ${MAX_EMAIL_LENGTH} characters.` };
  }
  return { ok: true, email: { display, key } };
}
