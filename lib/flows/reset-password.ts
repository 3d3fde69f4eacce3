/**
 * A forgotten password: a link to the mailbox, and a new password set by whoever holds it.
 *
 * Asking (`forgotPassword`) answers `accepted` for every well-formed address and does the same
 * database work whatever the address is: the lookups, the mail allowance and the activation-link
 * insert that a resend does (an address still waiting for activation gets a fresh activation link,
 * since it has no password to reset), then one insert that stores a reset link only for an active
 * account. Only the mailbox learns which it was.
 *
 * Confirming (`resetPassword`) takes the link's token and the new password. The password passes
 * the registration policy before anything is written, so a refused one leaves the link working.
 * The change is one batch (lib/storage/resets.ts, resetStatements) that uses the link, retires the
 * account's other links and clears the address's login back-off, all or nothing and at most once;
 * it does not log the person in. The owner then gets a notice without a link.
 */
import type { Config } from '../config/config.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import { noticeMail, resetMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { parseEmail } from '../policy/emails.ts';
import type { PasswordPolicy } from '../policy/password-policy.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';
import type { Database } from '../storage/db.ts';
import { addPasswordReset, commitReset, resetLinkRead, resetStored, type ResetLink } from '../storage/resets.ts';
import { accountHasHash, type Account } from '../storage/accounts.ts';
import type { Admission } from '../storage/throttle.ts';
import type { Throttled } from './admission.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';
import type { Condition } from '../storage/db.ts';
import { admittedLink, newResetLink } from './links.ts';
import { NOTICE_USEFUL_SECONDS } from '../mail/mail.ts';
import { renewActivation, type ResendOutcome, type ResendRequest, type ResendServices } from './resend-activation.ts';

export interface ForgotServices extends ResendServices {
  config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds' | 'resetTokenTtlSeconds' | 'throttle'>;
}

export type ForgotRequest = ResendRequest;
export type ForgotOutcome = ResendOutcome;

export async function forgotPassword(services: ForgotServices, request: ForgotRequest, now: number): Promise<ForgotOutcome> {
  const { db, config, log } = services;
  const parsed = parseEmail(request.email);
  if (!parsed.ok) return { kind: 'invalid', email: request.email, errors: [{ pointer: '/email', detail: parsed.detail }] };
  const { key, display } = parsed.email;

  // The same statements on every branch, unknown, pending or active: the renewal's first batch of
  // two lookups and three allowance charges, then its guarded insert, the guarded insert of a reset
  // link, which stores a row only for an account, and both mails, each queued only if its guard
  // holds at commit. The allowance is the one register and resend charge. The second batch's
  // writes commit together, or none does.
  const link = newResetLink(config, now);
  const ownMail = (_renewed: Condition, account: Account | null) => ({
    mail: resetMail(account?.email ?? display, link.url, config.resetTokenTtlSeconds),
    onlyIf: resetStored(link.tokenHash),
    usefulForSeconds: config.resetTokenTtlSeconds,
  });
  const alongside = [addPasswordReset(db, key, link)];
  const done = await renewActivation(services, key, display, request.clientKey, now, { admission: request.admission ?? null, forgot: true, alongside, ownMail });
  if (done.kind === 'throttled') return done;
  const { account, mayMail, renewed, alongside: [stored], ownMail: reset } = done;
  const issued = stored === 1;
  if (reset) services.mail.committed(reset.queued, reset.changes, mayMail && issued);
  log('password_reset_requested', { outcome: issued ? 'active' : renewed ? 'pending' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  return { kind: 'accepted' };
}

export type ResetLinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; email: string }
  | { kind: 'usable'; email: string; link: ResetLink };

export type ResetOutcome =
  | Exclude<ResetLinkState, { kind: 'usable' }>
  | Throttled
  | { kind: 'confirmation-differs'; email: string }
  | { kind: 'weak'; email: string; problems: string[] }
  | { kind: 'changed'; email: string; accountId: string };

export interface ResetRequest {
  token: unknown;
  password: string;
  /** The same password again: the page always sends it; a JSON client may leave it out. */
  confirmPassword?: string | undefined;
  /** The request's hit on the client's reset allowance, for the first batch (lib/flows/admission.ts). */
  admission?: Admission | null;
}

export interface ResetServices extends ChosenPasswordServices {
  db: Database;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  mail: MailQueue;
  log: EventLog;
  /** The host's; onPasswordChanged hears of the reset once it has committed. */
  hooks?: AccountHooks;
}

/**
 * What a reset link can do now: one round trip, the link and its account read in the batch that
 * carries the client's window hit (nothing else is written). A used link is `invalid`, exactly as
 * an unknown one.
 */
export async function resetLinkState(
  services: { db: Database; log: EventLog },
  token: unknown,
  now: number,
  admission: Admission | null = null,
): Promise<ResetLinkState | Throttled> {
  const read = await admittedLink<ResetLink>(services, admission, token, (digest) => resetLinkRead(services.db, digest));
  if (read.refused) return read.refused;
  const link = read.row;
  if (!link || link.usedAt !== null) return { kind: 'invalid' };
  if (link.expiresAt <= now) return { kind: 'expired', email: link.email };
  return { kind: 'usable', email: link.email, link };
}

export async function resetPassword(services: ResetServices, request: ResetRequest, now: number): Promise<ResetOutcome> {
  const { db, hasher, policy, mail, log } = services;
  // The first of two round trips; an unknown, used or expired link, or a refused password, ends here.
  const state = await resetLinkState(services, request.token, now, request.admission ?? null);
  if (state.kind === 'throttled') return state;
  if (state.kind !== 'usable') {
    log('password_reset_refused', { reason: state.kind });
    return state;
  }
  const { link, email } = state;
  // Refusals write nothing, so the link still works for the next try.
  if (request.confirmPassword !== undefined && request.confirmPassword !== request.password) return { kind: 'confirmation-differs', email };
  const problems = await chosenPasswordProblems(services, request.password, link.emailKey, policy);
  if (problems.length > 0) return { kind: 'weak', email, problems };

  refuseWhenBusy(hasher);
  const passwordHash = await hasher.hash(request.password);
  const change = { tokenHash: link.tokenHash, accountId: link.accountId, emailKey: link.emailKey, passwordHash };
  // The notice commits with the change, guarded as its other writes are: only the reset that won.
  const notice = await mail.queue(noticeMail('password-changed', link.email), {
    now,
    usefulForSeconds: NOTICE_USEFUL_SECONDS,
    onlyIf: accountHasHash(link.accountId, passwordHash),
  });
  const { changed, sessionsEnded, alongside: [queued] } = await commitReset(db, change, now, [notice.statement]);
  mail.committed(notice, queued, changed);
  if (changed) {
    log('password_reset', { accountId: link.accountId });
    if (sessionsEnded > 0) log('session_revoked', { accountId: link.accountId, count: sessionsEnded, reason: 'password-reset' });
    // The link was read with its account's dates; a reset changes neither them nor the address (a
    // change of address that committed since the read would have retired this link).
    const account = { id: link.accountId, email: link.email, createdAt: link.accountCreatedAt, activatedAt: link.accountActivatedAt };
    await afterCommit(services.hooks, 'onPasswordChanged', () => account, log);
    return { kind: 'changed', email, accountId: link.accountId };
  }
  // The link was usable at `now` and the batch checks it at the same `now`, so it cannot have
  // expired: another reset of the account used or retired it (or the account went), as for a used link.
  log('password_reset_refused', { reason: 'invalid' });
  return { kind: 'invalid' };
}
