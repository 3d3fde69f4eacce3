/**
 * MAIL_FROM, the sender of every mail: `Name <address@domain>`, `"Name, Inc." <address@domain>`
 * or a bare `address@domain`. Meant to be checked once, when the configuration is loaded; its
 * domain names every Message-ID. The value goes into a header as it is, so anything that could end
 * a header line or make a mailer read two addresses (CR, LF, an unquoted comma) is refused rather
 * than cleaned up: a sender that is silently rewritten is worse than a server that will not start.
 * It lives with the other address rules, below the config layer that checks MAIL_FROM with it;
 * no node: imports, so that the renderer runs it on Workers too (emails.ts needs node:url).
 */

export interface MailFrom {
  /** The display name, unquoted; absent for a bare address or `<address>`. */
  name?: string;
  address: string;
  /** Lowercase ASCII; Message-IDs end with it. */
  domain: string;
}

// RFC 5322 dot-atom: what a sending address's local part is in practice. Quoted local parts are
// refused: no mail service hands out such a sender, and they would need quoting in every transport.
const ATEXT = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const DOT_ATOM = new RegExp(`^${ATEXT}(?:\\.${ATEXT})*$`);
// ASCII host names only: an SMTP server without SMTPUTF8 refuses anything else in MAIL FROM, and
// an operator can always write the punycode (xn--) form.
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// A last label that is a number makes the domain an IP address in a URL parser's eyes (RFC 3696 §2).
const NUMERIC_LAST_LABEL = /(?:^|\.)(?:\d+|0x[0-9a-f]*)$/;
// Anything that ends or folds a header line, or hides a control character in it.
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;
// An unquoted display name may be words, spaces and dots ("J. Smith"); RFC 5322's other specials
// ( ) < > [ ] : ; @ \ , " would change how a mailer splits the header, so they need quotes.
const UNQUOTED_NAME = /^[^()<>[\]:;@\\,"]+$/;
const QUOTED_NAME = /^"((?:[^"\\]|\\.)*)"$/s;

/** RFC 5322's dot-atom-text: a local part, or the left half of a Message-ID. */
export function isDotAtom(value: string): boolean {
  return DOT_ATOM.test(value);
}

const MAX_ADDRESS = 254;
const MAX_LOCAL = 64;
const MAX_DOMAIN = 253;

function parseAddress(raw: string): { address: string; domain: string } | null {
  const at = raw.lastIndexOf('@');
  if (at <= 0 || raw.length > MAX_ADDRESS) return null;
  const local = raw.slice(0, at);
  const domain = raw.slice(at + 1).toLowerCase();
  if (local.length > MAX_LOCAL || !isDotAtom(local)) return null;
  if (domain.length === 0 || domain.length > MAX_DOMAIN || !domain.split('.').every((label) => LABEL.test(label))) return null;
  if (NUMERIC_LAST_LABEL.test(domain)) return null;
  return { address: raw, domain };
}

function parseName(raw: string): string | null {
  const quoted = QUOTED_NAME.exec(raw);
  if (quoted) return quoted[1]!.replace(/\\(.)/gs, '$1').trim();
  return UNQUOTED_NAME.test(raw) ? raw : null;
}

/** The parts of a MAIL_FROM value, or null if it is not one sender in a form every transport can send. */
export function parseMailFrom(raw: string): MailFrom | null {
  if (CONTROL.test(raw)) return null;
  const value = raw.trim();
  if (!value.endsWith('>')) {
    return parseAddress(value);
  }
  const open = value.lastIndexOf('<');
  if (open < 0) return null;
  const parsed = parseAddress(value.slice(open + 1, -1));
  if (!parsed) return null;
  const nameText = value.slice(0, open).trim();
  if (nameText === '') return parsed;
  const name = parseName(nameText);
  if (name === null) return null;
  return name === '' ? parsed : { name, ...parsed };
}
