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
import { activateRegistration, findAccount, findRegistration, type Registration } from '../storage/accounts.ts';
import type { Database } from '../storage/db.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { PasswordPolicy } from '../policy/password-policy.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';
import type { EventLog } from '../log.ts';
import { findByToken } from './links.ts';
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
  | PasswordRefusal
  | { kind: 'activated'; email: string; accountId: string };

export interface ActivationRequest {
  token: unknown;
  password: string;
  /** The same password typed again; needed only when it is not the registration's own. */
  confirmPassword?: string | undefined;
}

export interface ActivationServices extends ChosenPasswordServices {
  db: Database;
  hasher: PasswordHasher;
  policy: PasswordPolicy;
  log: EventLog;
  /** The host's; onActivated hears of each account that became active. */
  hooks?: AccountHooks;
}

export async function linkState(db: Database, token: unknown, now: number): Promise<LinkState> {
  const registration = await findByToken(token, (digest) => findRegistration(db, digest));
  if (!registration) return { kind: 'invalid' };
  const account = await findAccount(db, registration.emailKey);
  if (account) return { kind: 'active', email: account.email, accountId: account.id };
  if (registration.consumedAt !== null) return { kind: 'invalid' };
  if (registration.expiresAt <= now) return { kind: 'expired', email: registration.email };
  return { kind: 'pending', email: registration.email, registration };
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
  else if (outcome.kind !== 'active') services.log('activation_refused', { reason: outcome.kind });
  return outcome;
}

async function attemptActivation(services: ActivationServices, request: ActivationRequest, now: number): Promise<ActivationOutcome> {
  const { db } = services;
  const state = await linkState(db, request.token, now);
  if (state.kind !== 'pending') return state;
  const { registration } = state;
  const confirmed = await confirmedHash(services, registration, request);
  if (!('hash' in confirmed)) return confirmed;

  const accountId = randomUUID();
  const activation = { tokenHash: registration.tokenHash, emailKey: registration.emailKey, accountId, passwordHash: confirmed.hash };
  if (await activateRegistration(db, activation, now)) {
    // The row as the insert made it from the registration's: no read needed.
    const account = { id: accountId, email: registration.email, createdAt: registration.createdAt, activatedAt: now };
    await afterCommit(services.hooks, 'onActivated', () => account, services.log);
    return { kind: 'activated', email: registration.email, accountId };
  }
  // Another request activated the address first (or the link expired meanwhile): say how it stands now.
  const after = await linkState(db, request.token, now);
  return after.kind === 'pending' ? { kind: 'expired', email: after.email } : after;
}
