/**
 * The mails Latchkey sends, as templates: what each says, and its link if it carries one. A flow
 * queues them in the outbox (lib/mail/outbox.ts); the courier renders and sends them
 * (lib/mail/courier.ts, lib/mail/render.ts).
 */

export interface Mail {
  template:
    | 'activation'
    | 'password-reset'
    | 'already-registered'
    | 'already-active'
    | 'password-changed'
    | 'account-deleted'
    // A change of address (lib/mail/email-change-mails.ts).
    | 'email-change'
    | 'email-changed'
    | 'email-in-use'
    // The second factor turned off (lib/flows/mfa-manage.ts).
    | 'second-factor-off';
  to: string;
  subject: string;
  text: string;
  /** Present only when the mail carries a link. */
  link?: string;
}

/** How long a notice (a mail without a link) is worth retrying before it is given up. */
export const NOTICE_USEFUL_SECONDS = 24 * 60 * 60;

export function validFor(ttlSeconds: number): string {
  const hours = Math.round(ttlSeconds / 3600);
  return hours >= 1 ? `${hours} hour${hours === 1 ? '' : 's'}` : `${Math.round(ttlSeconds / 60)} minutes`;
}

/**
 * `forgot`: the link answers a password reset asked for an address whose account was never
 * activated, and the mail says so (there is no password to reset yet).
 */
export function activationMail(to: string, link: string, ttlSeconds: number, forgot = false): Mail {
  const opening = forgot
    ? `Someone, hopefully you, asked to reset the password for this address. Its account has not been\n` +
      `activated yet, so there is no password to reset: activate it instead. If you no longer know the\n` +
      `password you registered with, type a new one on the link's page; it will ask for it twice.\n\n`
    : `Someone, hopefully you, registered an account with this address.\n\n`;
  return {
    template: 'activation',
    to,
    subject: 'Activate your account',
    link,
    text:
      opening +
      `To activate it, open this link within ${validFor(ttlSeconds)} and enter the password you chose:\n${link}\n\n` +
      `If it was not you, ignore this mail: without the link, no account is created, and nobody but\n` +
      `the holder of this mailbox can activate one.`,
  };
}

export function resetMail(to: string, link: string, ttlSeconds: number): Mail {
  return {
    template: 'password-reset',
    to,
    subject: 'Reset your password',
    link,
    text:
      `Someone, hopefully you, asked to reset the password of the account for this address.\n\n` +
      `To choose a new password, open this link within ${validFor(ttlSeconds)}. It works once:\n${link}\n\n` +
      `If it was not you, ignore this mail: your password stays as it is, and nobody without this\n` +
      `link can change it.`,
  };
}

/** The notices: mails that tell the owner something happened and carry no link. */
const NOTICES = {
  'already-registered': {
    subject: 'Someone tried to register with your address',
    text:
      `Someone tried to register a new account with this address, which already has an active account.\n\n` +
      `Nothing was changed. If it was you, log in with your existing password.`,
  },
  'already-active': {
    subject: 'Your account is already active',
    text:
      `Someone asked for a new activation link for this address, but its account is already active.\n\n` +
      `Nothing was changed. Log in with your password.`,
  },
  'password-changed': {
    subject: 'Your password was changed',
    text:
      `The password of the account for this address was just changed, and every session of it was ended.\n\n` +
      `If it was you, there is nothing to do. If it was not, reset your password at once with\n` +
      `"Forgot your password?" on the login page, and check where else you used the old one.`,
  },
  'second-factor-off': {
    subject: 'Your authenticator was turned off',
    text:
      `The authenticator app (the second factor) of the account for this address was just turned off,\n` +
      `its recovery codes no longer work, and every other session of it was ended. The password alone\n` +
      `now opens the account.\n\n` +
      `If it was you, there is nothing to do. If it was not, someone knows your password and had a code:\n` +
      `reset your password at once with "Forgot your password?" on the login page.`,
  },
  'account-deleted': {
    subject: 'Your account was deleted',
    text:
      `The account for this address was deleted, with its sessions. Nothing of it is kept.\n\n` +
      `If it was not you, your password was known to someone else: you can register the address anew.`,
  },
} satisfies Partial<Record<Mail['template'], { subject: string; text: string }>>;

export type Notice = keyof typeof NOTICES;

export function noticeMail(template: Notice, to: string): Mail {
  return { template, to, ...NOTICES[template] };
}

export const alreadyRegisteredMail = (to: string) => noticeMail('already-registered', to);
export const alreadyActiveMail = (to: string) => noticeMail('already-active', to);
