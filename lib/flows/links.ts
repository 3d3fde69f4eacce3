/** Mailed links: the token goes into the mail, only its digest into the database. */
import type { Config } from '../config/config.ts';
import { constantTimeEqual, isWellFormedToken, newToken, tokenDigest } from '../crypto/tokens.ts';

export interface NewLink {
  /** What goes in the mail: the only place the token itself ever appears. */
  url: string;
  /** What the database keeps instead of the token. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
}

/** A link to `path` under PUBLIC_URL: built from configuration, never from a request's headers. */
function link(config: Pick<Config, 'publicUrl'>, path: string, ttlSeconds: number, now: number): NewLink {
  const token = newToken();
  const url = `${config.publicUrl}/${path}?token=${token}`;
  return { url, tokenHash: tokenDigest(token), createdAt: now, expiresAt: now + ttlSeconds * 1000 };
}

/** A fresh activation link, valid for the configured lifetime from `now`. */
export function newLink(config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds'>, now: number): NewLink {
  return link(config, 'activate', config.tokenTtlSeconds, now);
}

/** A fresh password reset link, valid for RESET_TOKEN_TTL_SECONDS from `now`. */
export function newResetLink(config: Pick<Config, 'publicUrl' | 'resetTokenTtlSeconds'>, now: number): NewLink {
  return link(config, 'reset-password', config.resetTokenTtlSeconds, now);
}

/**
 * The stored row of a link's token, or null: nothing is looked up for a malformed token, and the
 * row must carry the token's digest (the lookup is by digest already; the constant-time check keeps
 * it so whatever the index does).
 */
export async function findByToken<R extends { tokenHash: string }>(token: unknown, find: (digest: string) => Promise<R | null>): Promise<R | null> {
  if (!isWellFormedToken(token)) return null;
  const digest = tokenDigest(token);
  const row = await find(digest);
  return row && constantTimeEqual(row.tokenHash, digest) ? row : null;
}

/** A fresh link to confirm a new address, valid for EMAIL_CHANGE_TTL_SECONDS from `now`. */
export function newEmailChangeLink(config: Pick<Config, 'publicUrl' | 'emailChangeTtlSeconds'>, now: number): NewLink {
  return link(config, 'confirm-email', config.emailChangeTtlSeconds, now);
}

/** A fresh link that gives a changed address back, valid for EMAIL_UNDO_TTL_SECONDS from `now`. */
export function newUndoLink(config: Pick<Config, 'publicUrl' | 'emailUndoTtlSeconds'>, now: number): NewLink {
  return link(config, 'undo-email-change', config.emailUndoTtlSeconds, now);
}
