/**
 * What the owner of an account with TOTP on does about it: turn it off, or replace the recovery
 * codes. Both ask for the password and a code (an authenticator code or a recovery code), so that
 * neither a stolen session nor a stolen password is enough.
 *
 * Turning it off ends every other session of the account (they may have been made by whoever
 * made the owner turn it off) and mails a notice, which commits with the change.
 */
import type { Config } from '../config/config.ts';
import { newRecoveryCode, RECOVERY_CODE_COUNT, recoveryCodeDigest } from '../crypto/totp.ts';
import { NOTICE_USEFUL_SECONDS, noticeMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { accountHasHash } from '../storage/accounts.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import { allOf, not, runBatch } from '../storage/db.ts';
import { removeTotp, replaceRecoveryCodes, totpIsOn, totpOn } from '../storage/mfa.ts';
import { endEverySession } from '../storage/sessions.ts';
import { notOpened, openSession, type LiveSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';
import { factorOutcome, factorReads, factorSpent, proveSecondFactor, refuseFactor, totpOf, type FactorProof, type SecondFactorServices } from './mfa-check.ts';
import { checkPassword, sessionCharge, type PasswordCheckServices } from './password-check.ts';

export interface ManageServices extends PasswordCheckServices, SecondFactorServices, SessionServices {
  config: Pick<Config, 'throttle' | 'sessions'>;
  mail: MailQueue;
}

export interface ManageRequest {
  /** The bearer token, checked in the flow's first batch (lib/flows/sessions.ts openSession). */
  bearer: PresentedSession;
  password: string;
  code: string;
}

type Refusal = { kind: 'wrong' } | { kind: 'wrong-code' } | { kind: 'not-on' } | { kind: 'throttled'; retryAfterSeconds: number } | Unauthenticated;

/**
 * The gate both changes pass: the first trip (the window, the session, its charge, the second
 * factor's rows), then the password, TOTP on, and the code matched. What the code matched is spent
 * by the change's own batch (factorOutcome), which holds only if it still was unspent.
 */
async function proven(services: ManageServices, request: ManageRequest, now: number): Promise<{ refused: Refusal } | { session: LiveSession; proof: FactorProof }> {
  const { db } = services;
  refuseWhenBusy(services.hasher);
  const opened = await openSession(services, request.bearer, now, (gate) => ({ ...sessionCharge(services, gate, now), ...factorReads(db, gate) }));
  if (!opened.ok) return { refused: notOpened(opened) };
  const { session, done: first } = opened;
  const account = session.account;
  const check = await checkPassword(services, session, request.password, first, now);
  if (check.kind !== 'right') return { refused: check };
  if (!totpIsOn(totpOf(first))) return { refused: { kind: 'not-on' } };
  const proof = await proveSecondFactor(services, account.id, first, request.code, now);
  if (proof.kind === 'wrong') return { refused: await refuseFactor(services, account, proof.reason, now) };
  return { session, proof };
}

export type DisableOutcome = Refusal | { kind: 'disabled'; sessionsEnded: number };

export async function disableTotp(services: ManageServices, request: ManageRequest, now: number): Promise<DisableOutcome> {
  const { db, log, mail, config } = services;
  const gate = await proven(services, request, now);
  if ('refused' in gate) return gate.refused;
  const { session, proof } = gate;
  const account = session.account;
  const factor = factorOutcome(db, proof, account, config.throttle.loginFailures, now);
  const change = allOf(accountHasHash(account.id, account.passwordHash), factor.holds);
  const removal = removeTotp(db, account.id, change);
  const notice = await mail.queue(noticeMail('second-factor-off', account.email), { now, usefulForSeconds: NOTICE_USEFUL_SECONDS, onlyIf: not(totpOn(account.id)) });
  const done = await runBatch(db, {
    factor: factor.first,
    secret: removal.secret,
    rest: removal.rest,
    sessions: endEverySession(db, account.id, now, { except: session.id, whileHash: account.passwordHash, onlyIf: factor.holds }),
    notice: notice.statement,
    unmark: factor.last,
  });
  const removed = done.secret.meta.changes === 1;
  mail.committed(notice, done.notice.meta.changes, removed);
  if (!factor.spent(done.factor)) return refuseFactor(services, account, 'code', now, true);
  factorSpent(services, account.id, proof);
  if (!removed) return { kind: 'not-on' };
  const sessionsEnded = done.sessions.meta.changes;
  log('totp_disabled', { accountId: account.id, session: session.id });
  if (sessionsEnded > 0) log('session_revoked', { accountId: account.id, count: sessionsEnded, reason: 'totp-disabled' });
  return { kind: 'disabled', sessionsEnded };
}

export type RegenerateOutcome = Refusal | { kind: 'replaced'; recoveryCodes: string[] };

export async function regenerateRecoveryCodes(services: ManageServices, request: ManageRequest, now: number): Promise<RegenerateOutcome> {
  const { db, log, config } = services;
  const gate = await proven(services, request, now);
  if ('refused' in gate) return gate.refused;
  const { session, proof } = gate;
  const account = session.account;
  const factor = factorOutcome(db, proof, account, config.throttle.loginFailures, now);
  const recoveryCodes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
  const replace = replaceRecoveryCodes(db, account.id, recoveryCodes.map(recoveryCodeDigest), now, allOf(accountHasHash(account.id, account.passwordHash), factor.holds));
  const done = await runBatch(db, { factor: factor.first, current: replace.current, codes: replace.codes, unmark: factor.last });
  if (!factor.spent(done.factor)) return refuseFactor(services, account, 'code', now, true);
  factorSpent(services, account.id, proof);
  if (done.current.meta.changes !== 1) return { kind: 'not-on' };
  log('recovery_codes_replaced', { accountId: account.id, session: session.id });
  return { kind: 'replaced', recoveryCodes };
}
