/**
 * What an activation link can do, and doing it. A link turns its own registration into the
 * account, with the password typed in that registration; once the address has an account, every
 * link for it answers "active" (so a second click is a success, not an error) and none can change it.
 */
import { randomUUID } from 'node:crypto';
import { activateRegistration, findAccount, findRegistration, type Registration } from './accounts.ts';
import type { Database } from './db.ts';
import { activationLink, type Config } from './config.ts';
import { constantTimeEqual, isWellFormedToken, newToken, tokenDigest } from './tokens.ts';

export type LinkState =
  | { kind: 'invalid' }
  | { kind: 'expired'; email: string }
  | { kind: 'active'; email: string; accountId: string }
  | { kind: 'pending'; email: string; registration: Registration };

export type ActivationOutcome = Exclude<LinkState, { kind: 'pending' }> | { kind: 'activated'; email: string; accountId: string };

export async function linkState(db: Database, token: unknown, now: number): Promise<LinkState> {
  if (!isWellFormedToken(token)) return { kind: 'invalid' };
  const digest = tokenDigest(token);
  const registration = await findRegistration(db, digest);
  // The lookup is by digest already; the constant-time check keeps it so whatever the index does.
  if (!registration || !constantTimeEqual(registration.tokenHash, digest)) return { kind: 'invalid' };
  const account = await findAccount(db, registration.emailKey);
  if (account) return { kind: 'active', email: account.email, accountId: account.id };
  if (registration.consumedAt !== null) return { kind: 'invalid' };
  if (registration.expiresAt <= now) return { kind: 'expired', email: registration.email };
  return { kind: 'pending', email: registration.email, registration };
}

export async function activate(db: Database, token: unknown, now: number): Promise<ActivationOutcome> {
  const state = await linkState(db, token, now);
  if (state.kind !== 'pending') return state;
  const { registration } = state;
  const accountId = randomUUID();
  if (await activateRegistration(db, registration.tokenHash, registration.emailKey, accountId, now)) {
    return { kind: 'activated', email: registration.email, accountId };
  }
  // Another request activated the address first (or the link expired meanwhile): say how it stands now.
  const after = await linkState(db, token, now);
  return after.kind === 'pending' ? { kind: 'expired', email: after.email } : after;
}

export interface NewLink {
  /** What goes in the mail: the only place the token itself ever appears. */
  url: string;
  /** What the database keeps instead of the token. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
}

/** A fresh activation link, valid for the configured lifetime from `now`. */
export function newLink(config: Config, now: number): NewLink {
  const token = newToken();
  return {
    url: activationLink(config, token),
    tokenHash: tokenDigest(token),
    createdAt: now,
    expiresAt: now + config.tokenTtlSeconds * 1000,
  };
}
