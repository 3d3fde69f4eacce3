/**
 * The mail outbox's rows (table mail_outbox). A flow queues its mail with a statement in its own
 * batch, so the mail commits with the rows that cause it or not at all; the courier
 * (lib/mail/courier.ts) claims, sends and deletes rows. Bodies arrive here sealed: nothing in
 * this module, or in the table, can read a link.
 */
import type { Condition, Database, Statement } from './db.ts';

export interface OutboxRow {
  id: string;
  template: string;
  /** The recipient's domain, for events. */
  domain: string;
  sealed: string;
  createdAt: number;
  attempts: number;
  giveUpAt: number;
}

/**
 * Inserts the row while the outbox holds fewer than `capacity` rows and `onlyIf` (if any) holds
 * at commit, so a flow's decision about its mail is made in SQL with the batch's other writes. Its
 * result's `changes` is 1 if the mail was queued. The row is due only at `firstDueAt`: until then
 * its first send is the request's own (claim with `first`), and a timer or cron leaves it alone.
 */
export function queueStatement(db: Database, row: Omit<OutboxRow, 'attempts'> & { firstDueAt: number }, capacity: number, onlyIf?: Condition): Statement {
  const guard = onlyIf ? ` AND (${onlyIf.sql})` : '';
  return db
    .prepare(
      `INSERT INTO mail_outbox (id, template, domain, sealed, created_at, attempts, next_attempt_at, give_up_at)
       SELECT ?, ?, ?, ?, ?, 0, ?, ? WHERE (SELECT count(*) FROM mail_outbox) < ?${guard}`,
    )
    .bind(row.id, row.template, row.domain, row.sealed, row.createdAt, row.firstDueAt, row.giveUpAt, capacity, ...(onlyIf?.values ?? []));
}

/**
 * Takes the row for one send if it is due, or (`first`) if it was never tried: counts the attempt
 * and moves its due time to `leaseUntil`, so that no other courier sends it meanwhile; if this one
 * dies mid-send the row is due again then. Null if the row is gone or another courier holds it.
 */
export async function claim(db: Database, id: string, now: number, leaseUntil: number, first = false): Promise<OutboxRow | null> {
  return db
    .prepare(
      `UPDATE mail_outbox SET attempts = attempts + 1, next_attempt_at = ?
       WHERE id = ? AND (next_attempt_at <= ? OR (? = 1 AND attempts = 0))
       RETURNING id, template, domain, sealed, created_at AS createdAt, attempts, give_up_at AS giveUpAt`,
    )
    .bind(leaseUntil, id, now, first ? 1 : 0)
    .first<OutboxRow>();
}

/** The ids of rows due at `now`, oldest due first. */
export async function dueIds(db: Database, now: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare('SELECT id FROM mail_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?')
    .bind(now, limit)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Sent, or given up: the row (and its sealed body) goes. */
export async function removeRow(db: Database, id: string): Promise<void> {
  await db.prepare('DELETE FROM mail_outbox WHERE id = ?').bind(id).run();
}

/** A failed send: due again at `nextAttemptAt`. */
export async function retryAt(db: Database, id: string, nextAttemptAt: number): Promise<void> {
  await db.prepare('UPDATE mail_outbox SET next_attempt_at = ? WHERE id = ?').bind(nextAttemptAt, id).run();
}
