/**
 * Queueing a flow's mail: the mail is sealed (lib/crypto/seal.ts) and becomes one insert into the
 * outbox that the flow commits in its own batch, guarded in SQL by the condition under which the
 * mail is due, so the decision is taken at commit with the rest. After the batch, what was queued
 * is handed to `send` (the courier, after the answer); what the outbox had no room for is logged.
 */
import type { Sealer } from '../crypto/seal.ts';
import type { EventLog } from '../log.ts';
import type { Condition, Database, Statement } from '../storage/db.ts';
import { queueStatement } from '../storage/outbox.ts';
import type { Mail } from './mail.ts';

export interface QueuedMail {
  id: string;
  template: Mail['template'];
  domain: string;
  /** The insert, for the flow's batch. */
  statement: Statement;
}

export interface QueueOptions {
  /** Milliseconds since the epoch. */
  now: number;
  /** How long the mail is worth sending (its link's lifetime): past it, it is given up. */
  usefulForSeconds: number;
  /** The mail is queued only if this holds when the batch commits. */
  onlyIf?: Condition;
}

export interface MailQueue {
  queue(mail: Mail, options: QueueOptions): Promise<QueuedMail>;
  /**
   * After the batch: `changes` is the insert's result. `expected` says whether the flow's other
   * results show the mail was due; a due mail that was not queued found the outbox full.
   */
  committed(queued: QueuedMail, changes: number | undefined, expected: boolean): void;
}

export interface MailQueueServices {
  db: Database;
  sealer: Sealer;
  capacity: number;
  /** How long a new row is left to the request's own send before a timer or cron may take it. */
  firstSendMs: number;
  log: EventLog;
  /** Sends one queued mail; it runs after the answer, and the queue does not wait for it. */
  send: (id: string) => void;
}

/** The recipient's domain: what events say instead of the address. */
export const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase() || 'unknown';

/**
 * A guard decided in code (the mail allowance, say) but written as a bound value, so that a branch
 * that mails nothing runs the same statement, to the letter, as one that mails.
 */
export const mailAllowed = (allowed: boolean): Condition => ({ sql: '? = 1', values: [allowed ? 1 : 0] });

export function mailQueue(services: MailQueueServices): MailQueue {
  return {
    async queue(mail, { now, usefulForSeconds, onlyIf }) {
      const id = crypto.randomUUID();
      const domain = domainOf(mail.to);
      const sealed = await services.sealer.seal(JSON.stringify(mail), id);
      const row = { id, template: mail.template, domain, sealed, createdAt: now, firstDueAt: now + services.firstSendMs, giveUpAt: now + usefulForSeconds * 1000 };
      return { id, template: mail.template, domain, statement: queueStatement(services.db, row, services.capacity, onlyIf) };
    },
    committed(queued, changes, expected) {
      if (changes === 1) services.send(queued.id);
      else if (expected) services.log('mail_outbox_full', { template: queued.template, domain: queued.domain });
    },
  };
}
