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
import { runBatch, type Database } from '../storage/db.ts';
import {
  confirmationWon,
  confirmStatements,
  findEmailChange,
  findUndo,
  undoStatements,
  undoWon,
  type EmailChange,
} from '../storage/email-changes.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';
import { findByToken, newResetLink, newUndoLink } from './links.ts';

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
  /** The new address became another account's (or was reserved) since the request: nothing changed. */
  | { kind: 'taken'; oldEmail: string; newEmail: string }
  | { kind: 'changed'; oldEmail: string; newEmail: string; accountId: string };

/**
 * What a confirmation link can do now. Used, retired, or for an account that has moved since (or
 * is gone): `invalid`, as an unknown link.
 */
export async function confirmLinkState(db: Database, token: unknown, now: number): Promise<ConfirmLinkState> {
  const change = await findByToken(token, (digest) => findEmailChange(db, digest));
  if (!change || change.usedAt !== null || change.currentEmailKey !== change.oldEmailKey) return { kind: 'invalid' };
  const { oldEmail, newEmail } = change;
  if (change.expiresAt <= now) return { kind: 'expired', oldEmail, newEmail };
  return { kind: 'usable', oldEmail, newEmail, change };
}

export async function confirmEmail(services: ConfirmEmailServices, token: unknown, now: number): Promise<ConfirmOutcome> {
  const { db, config, mail, log } = services;
  const state = await confirmLinkState(db, token, now);
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
  const done = await runBatch(db, { ...statements, notice: notice.statement });
  const changed = done.linkUsed.meta.changes === 1;
  mail.committed(notice, done.notice.meta.changes, changed);
  if (changed) {
    const sessionsEnded = done.sessions.meta.changes;
    log('email_changed', { accountId: change.accountId, session: change.sessionId });
    if (sessionsEnded > 0) log('session_revoked', { accountId: change.accountId, count: sessionsEnded, reason: 'email-changed' });
    await afterCommit(services.hooks, 'onEmailChanged', () => ({ id: change.accountId, email: newEmail, previousEmail: oldEmail }), log);
    return { kind: 'changed', oldEmail, newEmail, accountId: change.accountId };
  }
  // Read at the same `now`: still usable means only the new address stood in the way.
  const after = await confirmLinkState(db, token, now);
  const outcome: ConfirmOutcome = after.kind === 'usable' ? { kind: 'taken', oldEmail, newEmail } : { kind: 'invalid' };
  log('email_change_refused', { reason: outcome.kind, accountId: change.accountId });
  return outcome;
}

export type UndoLinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; oldEmail: string; newEmail: string }
  | { kind: 'usable'; oldEmail: string; newEmail: string; change: EmailChange & { undoHash: string } };

export type UndoOutcome = Exclude<UndoLinkState, { kind: 'usable' }> | { kind: 'restored'; oldEmail: string; accountId: string };

export async function undoLinkState(db: Database, token: unknown, now: number): Promise<UndoLinkState> {
  // findByToken compares the digest it looked up by with the row's `tokenHash`: here the undo digest.
  const change = await findByToken(token, async (digest) => {
    const row = await findUndo(db, digest);
    return row && { ...row, tokenHash: row.undoHash };
  });
  if (!change || change.undoneAt !== null || change.undoExpiresAt === null) return { kind: 'invalid' };
  const { oldEmail, newEmail } = change;
  if (change.undoExpiresAt <= now) return { kind: 'expired', oldEmail, newEmail };
  return { kind: 'usable', oldEmail, newEmail, change };
}

export async function undoEmailChange(services: ConfirmEmailServices, token: unknown, now: number): Promise<UndoOutcome> {
  const { db, config, mail, log } = services;
  const state = await undoLinkState(db, token, now);
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
