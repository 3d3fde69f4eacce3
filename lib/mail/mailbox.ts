/**
 * The development mailbox: in development mode (lib/config/config.ts, modeOf) the server also keeps the
 * mails it sends in memory, so that GET /dev/mail can show them with their links one click away.
 * Memory only and bounded: the newest MAILBOX_CAPACITY mails, gone when the process (or, on
 * Workers, the isolate) ends. Never in production mode: a link is a credential.
 */
import type { Config } from '../config/config.ts';
import type { Mail } from './mail.ts';

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

/** The development mailbox, in development mode only: a link is a credential. */
export function developmentMailbox(config: Pick<Config, 'mode'>, mailbox: Mailbox = memoryMailbox()): Mailbox | undefined {
  return config.mode === 'development' ? mailbox : undefined;
}
