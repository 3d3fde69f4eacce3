/**
 * Using the links of a change of address. The link mailed to the new address moves the account
 * there (`confirmEmail`); the one then mailed to the old address gives it back (`undoEmailChange`).
 * Opening either link's page changes nothing (lib/flows/*LinkState): mail scanners open links.
 *
 * Each act is one batch (lib/storage/email-changes.ts), all or nothing and at most once. A
 * confirmation ends every other session of the account but the one that asked, its device
 * tokens, its reset links and its other requests, and mails the old address a notice with the
 * undo link; the old address stays reserved while that link works. An undo, which means the
 * account was moved by someone who knew the password, ends every session and device token,
 * retires every other change, and mails the old address a fresh reset link at once: the person
 * must choose a new password before the one that was known can be used again, and should not
 * have to ask for the link first.
 */
import type { Config } from '../config/config.ts';
import { newToken, tokenDigest } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import { emailChangedMail, resetAfterUndoMail } from '../mail/email-change-mails.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { rowsOf, runBatch, type Database } from '../storage/db.ts';
import { confirmationWon, confirmStatements, emailChangeRead, undoRead, undoStatements, undoWon, type EmailChange } from '../storage/email-changes.ts';
import type { Admission } from '../storage/throttle.ts';
import type { Throttled } from './admission.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';
import { admittedLink, newResetLink, newUndoLink } from './links.ts';

export interface ConfirmEmailServices {
  db: Database;
  config: Pick<Config, 'publicUrl' | 'emailUndoTtlSeconds' | 'resetTokenTtlSeconds'>;
  mail: MailQueue;
  log: EventLog;
  hooks?: AccountHooks;
}

export type ConfirmLinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; oldEmail: string; newEmail: string }
  | { kind: 'usable'; oldEmail: string; newEmail: string; change: EmailChange };

export type ConfirmOutcome =
  | Exclude<ConfirmLinkState, { kind: 'usable' }>
  | Throttled
  /** The new address became another account's (or was reserved) since the request: nothing changed. */
  | { kind: 'taken'; oldEmail: string; newEmail: string }
  | { kind: 'changed'; oldEmail: string; newEmail: string; accountId: string };

/**
 * What a confirmation link can do now, as its row reads at `now`. Used, retired, or for an account
 * that has moved since (or is gone): `invalid`, as an unknown link.
 */
function confirmStateOf(change: EmailChange | null | undefined, now: number): ConfirmLinkState {
  if (!change || change.usedAt !== null || change.currentEmailKey !== change.oldEmailKey) return { kind: 'invalid' };
  const { oldEmail, newEmail } = change;
  if (change.expiresAt <= now) return { kind: 'expired', oldEmail, newEmail };
  return { kind: 'usable', oldEmail, newEmail, change };
}

/** The link's state in one round trip: its read rides in the batch of the client's window hit. */
export async function confirmLinkState(
  services: { db: Database; log: EventLog },
  token: unknown,
  now: number,
  admission: Admission | null = null,
): Promise<ConfirmLinkState | Throttled> {
  const read = await admittedLink<EmailChange>(services, admission, token, (digest) => emailChangeRead(services.db, digest));
  return read.refused ?? confirmStateOf(read.row, now);
}

/**
 * Two round trips: the link read (with the client's window hit), then the batch whose first
 * statement decides, with the link read again after it to say why it did not.
 */
export async function confirmEmail(services: ConfirmEmailServices, token: unknown, now: number, admission: Admission | null = null): Promise<ConfirmOutcome> {
  const { db, config, mail, log } = services;
  const state = await confirmLinkState(services, token, now, admission);
  if (state.kind === 'throttled') return state;
  if (state.kind !== 'usable') {
    log('email_change_refused', { reason: state.kind });
    return state;
  }
  const { change, oldEmail, newEmail } = state;
  const undo = newUndoLink(config, now);
  const statements = confirmStatements(db, change, undo, now);
  // The notice commits with the change, only if this confirmation won.
  const notice = await mail.queue(emailChangedMail(oldEmail, newEmail, undo.url, config.emailUndoTtlSeconds), {
    now,
    usefulForSeconds: config.emailUndoTtlSeconds,
    onlyIf: confirmationWon(undo.tokenHash),
  });
  const done = await runBatch(db, { ...statements, notice: notice.statement, after: emailChangeRead(db, change.tokenHash) });
  const changed = done.linkUsed.meta.changes === 1;
  mail.committed(notice, done.notice.meta.changes, changed);
  if (changed) {
    const sessionsEnded = done.sessions.meta.changes;
    log('email_changed', { accountId: change.accountId, session: change.sessionId });
    if (sessionsEnded > 0) log('session_revoked', { accountId: change.accountId, count: sessionsEnded, reason: 'email-changed' });
    await afterCommit(services.hooks, 'onEmailChanged', () => ({ id: change.accountId, email: newEmail, previousEmail: oldEmail }), log);
    return { kind: 'changed', oldEmail, newEmail, accountId: change.accountId };
  }
  // Read after the batch's writes, at the same `now`: still usable means only the new address stood in the way.
  const after = confirmStateOf(rowsOf<EmailChange>(done.after)[0], now);
  const outcome: ConfirmOutcome = after.kind === 'usable' ? { kind: 'taken', oldEmail, newEmail } : { kind: 'invalid' };
  log('email_change_refused', { reason: outcome.kind, accountId: change.accountId });
  return outcome;
}

export type UndoLinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; oldEmail: string; newEmail: string }
  | { kind: 'usable'; oldEmail: string; newEmail: string; change: EmailChange & { undoHash: string } };

export type UndoOutcome = Exclude<UndoLinkState, { kind: 'usable' }> | Throttled | { kind: 'restored'; oldEmail: string; accountId: string };

/** What an undo link can do now, in one round trip: its read rides in the batch of the client's window hit. */
export async function undoLinkState(
  services: { db: Database; log: EventLog },
  token: unknown,
  now: number,
  admission: Admission | null = null,
): Promise<UndoLinkState | Throttled> {
  type Undo = EmailChange & { undoHash: string };
  // The row was found by the undo digest: that is the one it must carry.
  const read = await admittedLink<Undo>(services, admission, token, (digest) => undoRead(services.db, digest), (row) => row.undoHash);
  if (read.refused) return read.refused;
  const change = read.row;
  if (!change || change.undoneAt !== null || change.undoExpiresAt === null) return { kind: 'invalid' };
  const { oldEmail, newEmail } = change;
  if (change.undoExpiresAt <= now) return { kind: 'expired', oldEmail, newEmail };
  return { kind: 'usable', oldEmail, newEmail, change };
}

/** Two round trips: the link read (with the client's window hit), then the batch whose first statement decides. */
export async function undoEmailChange(services: ConfirmEmailServices, token: unknown, now: number, admission: Admission | null = null): Promise<UndoOutcome> {
  const { db, config, mail, log } = services;
  const state = await undoLinkState(services, token, now, admission);
  if (state.kind === 'throttled') return state;
  if (state.kind !== 'usable') {
    log('email_change_undo_refused', { reason: state.kind });
    return state;
  }
  const { change, oldEmail } = state;
  const mark = tokenDigest(newToken());
  const reset = newResetLink(config, now);
  const statements = undoStatements(db, change, mark, reset, now);
  const letter = await mail.queue(resetAfterUndoMail(oldEmail, reset.url, config.resetTokenTtlSeconds), {
    now,
    usefulForSeconds: config.resetTokenTtlSeconds,
    onlyIf: undoWon(mark),
  });
  const done = await runBatch(db, { ...statements, letter: letter.statement });
  const restored = done.linkUsed.meta.changes === 1;
  mail.committed(letter, done.letter.meta.changes, restored);
  if (!restored) {
    // Another undo of the account used or retired the link first (or the account went).
    log('email_change_undo_refused', { reason: 'invalid', accountId: change.accountId });
    return { kind: 'invalid' };
  }
  const sessionsEnded = done.sessions.meta.changes;
  log('email_change_undone', { accountId: change.accountId });
  if (sessionsEnded > 0) log('session_revoked', { accountId: change.accountId, count: sessionsEnded, reason: 'email-change-undone' });
  await afterCommit(services.hooks, 'onEmailChanged', () => ({ id: change.accountId, email: oldEmail, previousEmail: change.newEmail }), log);
  return { kind: 'restored', oldEmail, accountId: change.accountId };
}
