/**
 * Asking to move a logged-in account to another address. The password again (a wrong one is
 * charged as change-password's is: lib/flows/password-check.ts), then, for every well-formed
 * address, the same answer (`pending`), the same work and the same statements: one mail-allowance
 * charge for the new address, and one batch of the guarded insert and two guarded mails. The
 * insert stores a request only when the new address is free: not an account's (the asker's own
 * included) and not held for an undo (lib/storage/email-changes.ts). Then the new address gets
 * the link; otherwise it gets a notice without one, so that a person who forgot that the address
 * already has an account learns why no link came, as registration's notice does. Nothing about the
 * account changes until the link is used (lib/flows/confirm-email.ts).
 */
import type { Config } from '../config/config.ts';
import { emailChangeMail, emailInUseMail } from '../mail/email-change-mails.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { parseEmail } from '../policy/emails.ts';
import { accountHasHash } from '../storage/accounts.ts';
import { allOf, not, runBatch } from '../storage/db.ts';
import { addEmailChange, addressTaken, emailChangeStored } from '../storage/email-changes.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import { notOpened, openSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';
import { mailCharges, mailVerdict } from '../storage/throttle.ts';
import type { FieldError } from './field-error.ts';
import { newEmailChangeLink } from './links.ts';
import { checkPassword, sessionCharge, type PasswordCheckServices } from './password-check.ts';
import { factorOutcome, factorReads, factorSpent, proveSecondFactor, refuseFactor, type SecondFactorServices } from './mfa-check.ts';

export interface ChangeEmailServices extends PasswordCheckServices, SecondFactorServices, SessionServices {
  config: Pick<Config, 'throttle' | 'publicUrl' | 'emailChangeTtlSeconds' | 'sessions'>;
  mail: MailQueue;
}

export interface ChangeEmailRequest {
  /** The bearer token, checked in the flow's first batch (lib/flows/sessions.ts openSession). */
  bearer: PresentedSession;
  password: string;
  newEmail: string;
  /** With TOTP on: an authenticator code or a recovery code (lib/flows/mfa-check.ts). */
  code?: string;
  /** Whose mail allowance the mail is charged to (lib/http/client-address.ts, clientLimitKey). */
  clientKey: string;
}

export type ChangeEmailOutcome =
  | { kind: 'invalid'; errors: FieldError[] }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | Unauthenticated
  | { kind: 'wrong' }
  | { kind: 'wrong-code' }
  | { kind: 'pending' };

export async function requestEmailChange(services: ChangeEmailServices, request: ChangeEmailRequest, now: number): Promise<ChangeEmailOutcome> {
  const { db, config, mail, log } = services;
  const parsed = parseEmail(request.newEmail);
  if (!parsed.ok) return { kind: 'invalid', errors: [{ pointer: '/newEmail', detail: parsed.detail }] };
  const { key, display } = parsed.email;

  refuseWhenBusy(services.hasher);
  // The first trip: the window, the session, its charge and the second factor's rows.
  const opened = await openSession(services, request.bearer, now, (gate) => ({ ...sessionCharge(services, gate, now), ...factorReads(db, gate) }));
  if (!opened.ok) return notOpened(opened);
  const { session, done: first } = opened;
  const account = session.account;
  const check = await checkPassword(services, session, request.password, first, now);
  if (check.kind === 'throttled') return check;
  // Fail closed: only a password the hasher verified goes on.
  if (check.kind !== 'right') {
    log('email_change_failed', { accountId: account.id, reason: 'password' });
    return check;
  }
  // A thief with the password but not the authenticator cannot move the account either.
  const proof = await proveSecondFactor(services, account.id, first, request.code, now);
  if (proof.kind === 'wrong') {
    await refuseFactor(services, account, proof.reason, now);
    log('email_change_failed', { accountId: account.id, reason: 'code' });
    return { kind: 'wrong-code' };
  }

  // From here the same work whatever the new address is: free, taken, pending for another
  // account, held for an undo, or the account's own. Each request mails the new address (a link
  // or a notice), so each is charged to its allowances, as a registration is; over one, only the
  // mail is left out.
  // The charges go in the outcome batch, after the mails they decide (throttle.ts mailCharges()).
  const { charges, allows: allowed } = mailCharges(db, config.throttle, key, request.clientKey, now, { mails: allOf(), admits: allOf() });
  const link = newEmailChangeLink(config, now);
  const stored = emailChangeStored(link.tokenHash);
  const options = { now, usefulForSeconds: config.emailChangeTtlSeconds };
  // The code spent in the last batch, which stores the request only if it was still unspent.
  const factor = factorOutcome(db, proof, account, config.throttle.loginFailures, now);
  const confirm = await mail.queue(emailChangeMail(display, link.url, config.emailChangeTtlSeconds), { ...options, onlyIf: allOf(allowed, stored) });
  const notice = await mail.queue(emailInUseMail(display), { ...options, onlyIf: allOf(allowed, not(stored), factor.holds, addressTaken(key, now)) });
  const change = {
    tokenHash: link.tokenHash,
    accountId: account.id,
    sessionId: session.id,
    oldEmail: account.email,
    oldEmailKey: account.emailKey,
    newEmail: display,
    newEmailKey: key,
    createdAt: now,
    expiresAt: link.expiresAt,
  };
  // Stored only while the verified password is still the account's (a reset in between wins).
  const done = await runBatch(db, {
    factor: factor.first,
    change: addEmailChange(db, change, allOf(accountHasHash(account.id, account.passwordHash), factor.holds)),
    confirm: confirm.statement,
    notice: notice.statement,
    ...charges,
    unmark: factor.last,
  });
  const mayMail = mailVerdict(config.throttle, done, true);
  if (!mayMail) log('throttled', { rule: 'mail' });
  const spent = factor.spent(done.factor);
  const wasStored = done.change.meta.changes === 1;
  mail.committed(confirm, done.confirm.meta.changes, mayMail && wasStored);
  mail.committed(notice, done.notice.meta.changes, mayMail && spent && !wasStored);
  if (!spent) {
    await refuseFactor(services, account, 'code', now, true);
    log('email_change_failed', { accountId: account.id, reason: 'code' });
    return { kind: 'wrong-code' };
  }
  factorSpent(services, account.id, proof);
  log('email_change_requested', { accountId: account.id, session: session.id, outcome: wasStored ? 'link' : 'taken' });
  return { kind: 'pending' };
}
