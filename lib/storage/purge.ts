/**
 * Housekeeping: rows that no request will need again. Run by the Workers cron trigger, by the
 * Node server's timer, and by `npm run purge`.
 *
 * - Registrations whose link expired more than a grace period ago, and registrations consumed
 *   (the address has its account) more than the grace period ago. The grace keeps a link that is
 *   clicked late saying "expired, ask for a new one" or "already active" instead of "invalid".
 * - Throttle rows whose window or back-off has run out: they no longer count for anything.
 * - Device tokens past their expiry (lib/storage/devices.ts): no login trusts them any more.
 * - Password reset links expired or used more than the grace period ago (lib/storage/resets.ts).
 * - Changes of address whose link expired, and whose undo window (if it was confirmed) ended, more
 *   than the grace period ago (lib/storage/email-changes.ts): until then a confirmed one holds the
 *   old address for the account.
 * - Sessions ended by the cut-offs the caller passes: lib/flows/purge.ts gives those of the session
 *   policy of the moment, the rule a request applies (lib/flows/sessions.ts), so raising
 *   SESSION_IDLE_SECONDS keeps what a request still accepts;
 *   and sessions ended (logout, revoked) more than the grace period ago. The grace keeps a use of
 *   an ended token, a hint of theft, logged as `revoked` rather than `unknown`.
 * - Login challenges of the second factor past their expiry (lib/storage/mfa.ts): none answers again.
 *
 * Accounts are never deleted here: no statement below names the accounts table.
 * Deletes go in slices so that no single statement runs long on D1.
 */
import type { Database } from './db.ts';
import type { EndedBy } from './sessions.ts';

export interface PurgeResult {
  registrations: number;
  throttle: number;
  devices: number;
  resets: number;
  emailChanges: number;
  sessions: number;
  challenges: number;
}

const SLICE = 500;
const MAX_SLICES = 200;

async function deleteInSlices(db: Database, sql: string, ...values: number[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < MAX_SLICES; i++) {
    const { meta } = await db.prepare(sql).bind(...values, SLICE).run();
    total += meta.changes;
    if (meta.changes < SLICE) break;
  }
  return total;
}

export async function purgeRows(db: Database, now: number, graceSeconds: number, sessionsEnded: EndedBy): Promise<PurgeResult> {
  const cutoff = now - graceSeconds * 1000;
  const registrations = await deleteInSlices(
    db,
    `DELETE FROM registrations WHERE token_hash IN (
       SELECT token_hash FROM registrations
       WHERE (consumed_at IS NULL AND expires_at <= ?1) OR consumed_at <= ?1
       LIMIT ?2)`,
    cutoff,
  );
  const throttle = await deleteInSlices(
    db,
    'DELETE FROM throttle WHERE key IN (SELECT key FROM throttle WHERE forget_at <= ?1 LIMIT ?2)',
    now,
  );
  const devices = await deleteInSlices(
    db,
    'DELETE FROM devices WHERE token_hash IN (SELECT token_hash FROM devices WHERE expires_at <= ?1 LIMIT ?2)',
    now,
  );
  const resets = await deleteInSlices(
    db,
    `DELETE FROM password_resets WHERE token_hash IN (
       SELECT token_hash FROM password_resets WHERE expires_at <= ?1 OR used_at <= ?1 LIMIT ?2)`,
    cutoff,
  );
  const emailChanges = await deleteInSlices(
    db,
    `DELETE FROM email_changes WHERE token_hash IN (
       SELECT token_hash FROM email_changes
       WHERE expires_at <= ?1 AND (undo_expires_at IS NULL OR undo_expires_at <= ?1) LIMIT ?2)`,
    cutoff,
  );
  const { seenBy, createdBy } = sessionsEnded;
  const sessions = await deleteInSlices(
    db,
    `DELETE FROM sessions WHERE id IN (
       SELECT id FROM sessions WHERE last_seen_at <= ?1 OR created_at <= ?2 OR revoked_at <= ?3 LIMIT ?4)`,
    seenBy,
    createdBy,
    cutoff,
  );
  const challenges = await deleteInSlices(
    db,
    'DELETE FROM mfa_challenges WHERE id IN (SELECT id FROM mfa_challenges WHERE expires_at <= ?1 LIMIT ?2)',
    now,
  );
  return { registrations, throttle, devices, resets, emailChanges, sessions, challenges };
}
