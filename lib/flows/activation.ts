/**
 * What an activation link can do, and doing it.
 *
 * The link proves the mailbox; the password proves who is activating. Whoever follows a link types
 * the account's password on its page. If it is the password of the registration that the link
 * belongs to (the usual case: a password manager fills it in), the account gets that registration's
 * hash. If it is not — the person registered twice, or the link was requested by someone else, or
 * came from a resend — they must type it a second time, it must pass the policy, and the account
 * gets it. Either way the account ends up with a password the mailbox holder typed, so nobody who
 * cannot read the mailbox can choose it (docs/design.md, "Pre-hijacking"). Once the address has an
 * account, every link for it answers "active" and none can change it.
 */
import { randomUUID } from 'node:crypto';
import { activationStatements, registrationLinkRead, type Registration, type RegistrationLink } from '../storage/accounts.ts';
import { rowsOf, runBatch, type Database } from '../storage/db.ts';
import type { Admission } from '../storage/throttle.ts';
import type { Throttled } from './admission.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { PasswordPolicy } from '../policy/password-policy.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';
import type { EventLog } from '../log.ts';
import { admittedLink } from './links.ts';
import { afterCommit, type AccountHooks } from './hooks.ts';

export type LinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; email: string }
  | { kind: 'active'; email: string; accountId: string }
  | { kind: 'pending'; email: string; registration: Registration };

/** Why a pending link did not activate: the person must type the password again, or another one. */
export type PasswordRefusal =
  /** Not this registration's password: type it twice to make it the account's password. */
  | { kind: 'unconfirmed'; email: string }
  /** The two typings differ. */
  | { kind: 'confirmation-differs'; email: string }
  /** A new password that the policy refuses, with the reasons. */
  | { kind: 'weak'; email: string; problems: string[] };

export type ActivationOutcome =
  | Exclude<LinkState, { kind: 'pending' }>
  | Throttled
  | PasswordRefusal
  | { kind: 'activated'; email: string; accountId: string };

export interface ActivationRequest {
  token: unknown;
  password: string;
  /** The same password typed again; needed only when it is not the registration's own. */
  confirmPassword?: string | undefined;
  /** The request's hit on the client's activate allowance, for the first batch (lib/flows/admission.ts). */
  admission?: Admission | null;
}

export interface ActivationServices extends ChosenPasswordServices {
  db: Database;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  log: EventLog;
  /** The host's; onActivated hears of each account that became active. */
  hooks?: AccountHooks;
}

/** What a link can do, as its row (the registration and its address's account) reads at `now`. */
function stateOf(link: RegistrationLink | null | undefined, now: number): LinkState {
  if (!link) return { kind: 'invalid' };
  if (link.accountId !== null) return { kind: 'active', email: link.accountEmail ?? link.email, accountId: link.accountId };
  if (link.consumedAt !== null) return { kind: 'invalid' };
  if (link.expiresAt <= now) return { kind: 'expired', email: link.email };
  return { kind: 'pending', email: link.email, registration: link };
}

/**
 * What an activation link can do now: one round trip, the link and its address's account read in
 * one statement, in the batch that carries the client's window hit (nothing else is written).
 */
export async function linkState(
  services: { db: Database; log: EventLog },
  token: unknown,
  now: number,
  admission: Admission | null = null,
): Promise<LinkState | Throttled> {
  const read = await admittedLink<RegistrationLink>(services, admission, token, (digest) => registrationLinkRead(services.db, digest));
  return read.refused ?? stateOf(read.row, now);
}

/**
 * The hash the account will get, or why there is none yet. At most one verification and one hash,
 * and only for someone holding a working link: an unknown token costs no hashing at all.
 */
async function confirmedHash(
  services: ActivationServices,
  registration: Registration,
  request: ActivationRequest,
): Promise<{ hash: string } | PasswordRefusal> {
  const { hasher, policy } = services;
  const email = registration.email;
  if (await hasher.verify(request.password, registration.passwordHash)) return { hash: registration.passwordHash };
  if (request.confirmPassword === undefined) return { kind: 'unconfirmed', email };
  if (request.confirmPassword !== request.password) return { kind: 'confirmation-differs', email };
  const problems = await chosenPasswordProblems(services, request.password, registration.emailKey, policy);
  if (problems.length > 0) return { kind: 'weak', email, problems };
  return { hash: await hasher.hash(request.password) };
}

/** Activates the link's account, and logs what became of the attempt (a second use of a link is no event). */
export async function activate(services: ActivationServices, request: ActivationRequest, now: number): Promise<ActivationOutcome> {
  const outcome = await attemptActivation(services, request, now);
  if (outcome.kind === 'activated') services.log('activated', { accountId: outcome.accountId });
  else if (outcome.kind !== 'active' && outcome.kind !== 'throttled') services.log('activation_refused', { reason: outcome.kind });
  return outcome;
}

async function attemptActivation(services: ActivationServices, request: ActivationRequest, now: number): Promise<ActivationOutcome> {
  const { db } = services;
  // The first of at most two round trips; an unknown, used or expired link, or an active address, ends here.
  const state = await linkState(services, request.token, now, request.admission ?? null);
  if (state.kind !== 'pending') return state;
  const { registration } = state;
  const confirmed = await confirmedHash(services, registration, request);
  if (!('hash' in confirmed)) return confirmed;

  // The second: the guarded insert decides (one account per address, a link works once), and the
  // link read again after it says how it stands if another request won.
  const accountId = randomUUID();
  const activation = { tokenHash: registration.tokenHash, emailKey: registration.emailKey, accountId, passwordHash: confirmed.hash };
  const done = await runBatch(db, { ...activationStatements(db, activation, now), after: registrationLinkRead(db, registration.tokenHash) });
  if (done.account.meta.changes === 1) {
    // The row as the insert made it from the registration's: no read needed.
    const account = { id: accountId, email: registration.email, createdAt: registration.createdAt, activatedAt: now };
    await afterCommit(services.hooks, 'onActivated', () => account, services.log);
    return { kind: 'activated', email: registration.email, accountId };
  }
  // Another request activated the address first (or the link expired meanwhile): say how it stands now.
  const after = stateOf(rowsOf<RegistrationLink>(done.after)[0], now);
  return after.kind === 'pending' ? { kind: 'expired', email: after.email } : after;
}
