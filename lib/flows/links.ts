/** Activation links: the token goes into the mail, only its digest into the database. */
import { activationLink, type Config } from '../config/config.ts';
import { newToken, tokenDigest } from '../crypto/tokens.ts';

export interface NewLink {
  /** What goes in the mail: the only place the token itself ever appears. */
  url: string;
  /** What the database keeps instead of the token. */
  tokenHash: string;
  createdAt: number;
  expiresAt: number;
}

/** A fresh activation link, valid for the configured lifetime from `now`. */
export function newLink(config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds'>, now: number): NewLink {
  const token = newToken();
  return {
    url: activationLink(config, token),
    tokenHash: tokenDigest(token),
    createdAt: now,
    expiresAt: now + config.tokenTtlSeconds * 1000,
  };
}
