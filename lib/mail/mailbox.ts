/**
 * The development mailbox: in development mode (lib/config/config.ts, modeOf) the server also keeps the
 * mails it sends in memory, so that GET /dev/mail can show them with their links one click away.
 * Memory only and bounded: the newest MAILBOX_CAPACITY mails, gone when the process (or, on
 * Workers, the isolate) ends. Never in production mode: a link is a credential.
 */
import type { Config } from '../config/config.ts';
import type { Mail, MailSink } from './mail.ts';

export const MAILBOX_CAPACITY = 50;

export interface KeptMail {
  mail: Mail;
  /** Milliseconds since the epoch. */
  sentAt: number;
}

export interface Mailbox {
  keep(mail: Mail, sentAt: number): void;
  /** Newest first. */
  list(): KeptMail[];
}

export function memoryMailbox(capacity = MAILBOX_CAPACITY): Mailbox {
  const kept: KeptMail[] = [];
  return {
    keep(mail, sentAt) {
      kept.push({ mail, sentAt });
      if (kept.length > capacity) kept.splice(0, kept.length - capacity);
    },
    list: () => kept.slice().reverse(),
  };
}

/**
 * The mail sink and mailbox an entry point uses: in development mode every mail is kept in the
 * mailbox first and then handed to `sink` as before (the mail log line stays as it is); in
 * production mode `sink` alone, and no mailbox.
 */
export function developmentMail(
  config: Config,
  sink: MailSink,
  mailbox: Mailbox = memoryMailbox(),
  now: () => number = Date.now,
): { mail: MailSink; mailbox?: Mailbox } {
  if (config.mode !== 'development') return { mail: sink };
  return {
    mailbox,
    mail: {
      send(mail) {
        mailbox.keep(mail, now());
        return sink.send(mail);
      },
    },
  };
}
