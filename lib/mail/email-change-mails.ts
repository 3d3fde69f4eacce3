/**
 * The mails of a change of address (lib/flows/change-email.ts): the link to the new address, the
 * notice with an undo link to the old one, the notice to an address that is not free, and the
 * reset link that an undo sends at once.
 */
import { validFor, type Mail } from './mail.ts';

export function emailChangeMail(to: string, link: string, ttlSeconds: number): Mail {
  return {
    template: 'email-change',
    to,
    subject: 'Confirm your new address',
    link,
    text:
      `Someone, hopefully you, asked to move an account to this address.\n\n` +
      `To confirm that this mailbox is yours, open this link within ${validFor(ttlSeconds)}. It works once:\n${link}\n\n` +
      `If it was not you, ignore this mail: nothing changes unless the link is used.`,
  };
}

export function emailChangedMail(to: string, newEmail: string, link: string, ttlSeconds: number): Mail {
  return {
    template: 'email-changed',
    to,
    subject: 'Your account moved to another address',
    link,
    text:
      `The account for this address now uses ${newEmail}, and its other sessions were ended.\n\n` +
      `If it was you, there is nothing to do. If it was not, open this link within ${validFor(ttlSeconds)} to\n` +
      `take the address back; every session ends, and you then choose a new password:\n${link}`,
  };
}

/** No link: the address belongs to an account already (or is held for one), so nothing can move to it. */
export function emailInUseMail(to: string): Mail {
  return {
    template: 'email-in-use',
    to,
    subject: 'Someone tried to move an account to your address',
    text:
      `Someone asked to move an account to this address, which already belongs to an account.\n\n` +
      `Nothing was changed. If it was you, log in with this address instead.`,
  };
}

/** The reset link an undo sends with it: whoever moved the account knew the password. */
export function resetAfterUndoMail(to: string, link: string, ttlSeconds: number): Mail {
  return {
    template: 'password-reset',
    to,
    subject: 'Choose a new password',
    link,
    text:
      `The account is back at this address, and every session of it has ended. Whoever moved it knew\n` +
      `your password, so choose a new one now: open this link within ${validFor(ttlSeconds)}. It works once:\n${link}`,
  };
}
