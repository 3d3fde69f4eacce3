/** Mailed links: the token goes into the mail, only its digest into the database. */
import type { Config } from '../config/config.ts';
import { constantTimeEqual, isWellFormedToken, newToken, tokenDigest } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import { rowsOf, type Database, type Statement } from '../storage/db.ts';
import { runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient, type Throttled } from './admission.ts';

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

// What a malformed token is looked up by: a digest no token has (a digest is 64 hex digits), so
// that every token costs the same one read in the same one trip, and finds nothing.
const NO_DIGEST = '-';

/**
 * The row a link's token names, read in the request's first trip together with its client's window
 * hit (lib/storage/throttle.ts runAdmitted): one soft batch, since the read writes nothing and the
 * hit is soft state. `read` makes the statement that looks the digest up. The row must carry the
 * digest it was found by (`storedDigest`, its `tokenHash` unless said otherwise): the lookup is by
 * digest already, and the constant-time check keeps it so whatever the index does. A refused
 * client gets the refusal, logged, and no row.
 */
export async function admittedLink<R extends object>(
  services: { db: Database; log: EventLog },
  admission: Admission | null,
  token: unknown,
  read: (digest: string) => Statement,
  storedDigest: (row: R) => string = (row) => (row as { tokenHash: string }).tokenHash,
): Promise<{ refused: Throttled } | { refused: null; row: R | null }> {
  const digest = isWellFormedToken(token) ? tokenDigest(token) : NO_DIGEST;
  let row: R | null | undefined;
  if (admission) {
    const { verdict, done } = await runAdmitted(services.db, admission, { link: read(digest) }, { soft: true });
    const refused = refusedClient(verdict, services.log);
    if (refused) return { refused };
    row = rowsOf<R>(done.link)[0];
  } else {
    // No window to hit (its limit is off): a plain read, which needs no batch.
    row = await read(digest).first<R>();
  }
  return { refused: null, row: row && digest !== NO_DIGEST && constantTimeEqual(storedDigest(row), digest) ? row : null };
}

/** A fresh link to confirm a new address, valid for EMAIL_CHANGE_TTL_SECONDS from `now`. */
export function newEmailChangeLink(config: Pick<Config, 'publicUrl' | 'emailChangeTtlSeconds'>, now: number): NewLink {
  return link(config, 'confirm-email', config.emailChangeTtlSeconds, now);
}

/** A fresh link that gives a changed address back, valid for EMAIL_UNDO_TTL_SECONDS from `now`. */
export function newUndoLink(config: Pick<Config, 'publicUrl' | 'emailUndoTtlSeconds'>, now: number): NewLink {
  return link(config, 'undo-email-change', config.emailUndoTtlSeconds, now);
}
