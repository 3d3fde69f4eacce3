/**
 * A template's Mail made into the OutgoingMail every transport sends: the app's name in the
 * subject and in both bodies, an HTML part built from the text (lib/mail/mail-html.ts), the
 * Message-ID and the headers. Pure and synchronous, with no node: imports, so the outbox can render
 * on Workers and on Node alike, and a retry renders the very same message.
 */
import { mailHtml } from './mail-html.ts';
import { isDotAtom, parseMailFrom } from '../policy/mail-from.ts';
import type { Mail } from './mail.ts';
import type { OutgoingMail } from './transport.ts';

export { parseMailFrom, type MailFrom } from '../policy/mail-from.ts';

export interface Brand {
  /** APP_NAME: who the person registered with, as they know it. */
  appName: string;
  /** MAIL_FROM, already checked with parseMailFrom when the configuration was loaded. */
  from: string;
}

/** The words on the link's button; the text part says "open this link" just before it. */
const ACTIONS: Partial<Record<Mail['template'], string>> = {
  activation: 'Activate your account',
  'password-reset': 'Choose a new password',
  'email-change': 'Confirm the new address',
  'email-changed': 'Undo this change',
};

// The app's name goes into the Subject header: a line break there would start a header of the
// caller's choosing.
const CONTROL = /[\p{Cc}\p{Zl}\p{Zp}]/u;

/**
 * The action first and the app's name last: a phone's mail list cuts a subject after some 35
 * characters, and the sender's name, shown above it, usually names the app already.
 */
function mailSubject(subject: string, appName: string): string {
  return `${subject} — ${appName}`;
}

/** The closing line of both parts: who sent the mail and to which address (a forwarded mailbox hides that). */
function signOff(to: string, appName: string): string {
  return `This mail was sent to ${to} by ${appName}.`;
}

function checkedLink(link: string): string {
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw new Error('renderMail: the link is not an absolute URL');
  }
  // A javascript: or data: URL would run in the reader's mail client; links come from PUBLIC_URL,
  // which is http(s), so anything else is a bug upstream.
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || /\s/.test(link)) {
    throw new Error('renderMail: the link must be a plain http(s) URL');
  }
  return link;
}

/**
 * `id` is unique per message (the outbox row's id) and becomes the left half of the Message-ID, so
 * a mail rendered again for a retry keeps its Message-ID and the far side can drop the duplicate.
 * Throws on a brand or id that would make a broken or forged header; configuration loading is
 * where such values should be refused first.
 */
export function renderMail(mail: Mail, brand: Brand, id: string): OutgoingMail {
  const appName = brand.appName.trim();
  if (appName === '' || CONTROL.test(appName)) throw new Error('renderMail: APP_NAME is empty or has control characters');
  const from = parseMailFrom(brand.from);
  if (!from) throw new Error('renderMail: MAIL_FROM is not a valid sender');
  if (!isDotAtom(id)) throw new Error('renderMail: the message id has characters a Message-ID cannot have');
  const link = mail.link === undefined ? undefined : checkedLink(mail.link);

  const subject = mailSubject(mail.subject, appName);
  const closing = signOff(mail.to, appName);
  const html = mailHtml({
    subject,
    appName,
    text: mail.text,
    ...(link === undefined ? {} : { link }),
    action: ACTIONS[mail.template] ?? 'Open the link',
    signOff: closing,
  });
  return {
    ...mail,
    subject,
    // "-- " on a line of its own is the signature separator (RFC 3676 §4.3): clients show what
    // follows as a signature and leave it out of a quoted reply.
    text: `${mail.text}\n\n-- \n${closing}`,
    from: brand.from.trim(),
    html,
    messageId: `<${id}@${from.domain}>`,
    headers: { 'Auto-Submitted': 'auto-generated' },
  };
}
