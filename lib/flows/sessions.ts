/**
 * Sessions, the one module that owns them (the Copenhagen Book / Lucia v3's design): minting a
 * token at login, validating one (the expiry and the hourly slide decided together, in
 * checkSession), ending one or listing an account's live ones. Latchkey's bearer routes
 * (lib/http/bearer.ts), a host's requireSession() (lib/http/host-session.ts) and the RPC entry all
 * come here; lib/storage/sessions.ts only reads and writes the rows.
 *
 * - A token is `id.secret` (lib/crypto/tokens.ts); the row is found by its id and only the SHA-256
 *   of the secret is kept, so a leaked table holds no usable token (ASVS 5.0 7.4.1).
 * - Both expiries are enforced from the settings of the moment, when a session is read and when
 *   the purge deletes it: idle (`idleSeconds` since it was last seen) and absolute (`maxSeconds`
 *   since the login). No expiry is stored, so a changed setting applies to every session at once.
 * - "Last seen" moves at most once an hour per session (SLIDE_EVERY_SECONDS), so checking a session
 *   is one indexed read and, once an hour, one write.
 * - Only the account's own sessions can be seen or ended: another account's session id is
 *   answered exactly as an id that does not exist.
 */
import { SLIDE_EVERY_SECONDS, type SessionPolicy } from '../config/session-settings.ts';
import type { Config } from '../config/config.ts';
import { constantTimeEqual, newSessionToken, parseSessionToken, tokenDigest } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import type { Account } from '../storage/accounts.ts';
import { allOf, rowsOf, type BatchResults, type RunResult, type Condition, type Database, type Statement } from '../storage/db.ts';
import { accountSessionsRead, insertSession, revokeAccountSession, sessionById, sessionLive, sessionRead, storedSession, touchSession, type EndedBy, type SessionJoinRow, type SessionRow, type StoredSession } from '../storage/sessions.ts';
import { admitted, runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient, type Throttled } from './admission.ts';

export { SLIDE_EVERY_SECONDS, type SessionPolicy, type SessionRow };

export interface SessionServices {
  db: Database;
  config: Pick<Config, 'sessions'>;
  log: EventLog;
}

/** What a login answers with: the token itself appears here and nowhere else. */
export interface IssuedSession {
  id: string;
  token: string;
  expiresAt: string;
}

/** A live session and its account, as a check of its token found them. */
export interface LiveSession extends SessionRow {
  expiresAt: number;
  account: Account;
}

/** Why a token does not authenticate (for the log only: the answer is the same). */
export type Rejection = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export type CurrentOutcome = { kind: 'current'; session: LiveSession };
export type LogoutOutcome = { kind: 'ended' };
/** The account's address now, and its live sessions. */
export type ListOutcome = { kind: 'listed'; email: string; currentId: string; sessions: Array<SessionRow & { expiresAt: number }> };
export type EndOneOutcome = { kind: 'ended' } | { kind: 'unknown' };

export type Unauthenticated = { kind: 'unauthenticated' };

export type SessionCheck = { ok: true; session: LiveSession } | { ok: false; refused?: Throttled };

/** When a session seen at `lastSeenAt` ends, whichever of the two expiries comes first. */
export const expiryOf = (row: Pick<SessionRow, 'createdAt' | 'lastSeenAt'>, policy: SessionPolicy) =>
  Math.min(row.lastSeenAt + policy.idleSeconds * 1000, row.createdAt + policy.maxSeconds * 1000);

/** expiryOf() turned around, for SQL: the cut-offs at or before which a session has ended at `now`. */
export const endedBefore = (policy: SessionPolicy, now: number): EndedBy => ({
  seenBy: now - policy.idleSeconds * 1000,
  createdBy: now - policy.maxSeconds * 1000,
});

/** A fresh session for an account that just logged in: the statement for the login's batch, and what to answer. */
export function newSession(db: Database, accountId: string, client: string, policy: SessionPolicy, now: number, onlyIf?: Condition, mfa = false) {
  const { id, secret, token } = newSessionToken();
  const expiresAt = expiryOf({ createdAt: now, lastSeenAt: now }, policy);
  const statement = insertSession(db, { id, secretHash: tokenDigest(secret), accountId, client: client.slice(0, 64), createdAt: now, mfa }, onlyIf);
  return { statement, issued: { id, token, expiresAt: new Date(expiresAt).toISOString() } satisfies IssuedSession };
}

// A well-formed id that no session has (ids are random base64url, never all dots), and the digest
// that a malformed token is compared against, so that every token costs one lookup and one compare.
const NO_ID = '.'.repeat(22);
const NO_SECRET_DIGEST = tokenDigest('');

/**
 * The session a bearer token names, with its account, if it is live: one indexed read, one SHA-256
 * and one constant-time compare, whatever the token is — missing, malformed, unknown, revoked,
 * expired or good — so that neither the answer nor its timing tells a guesser which ids exist.
 */
export async function authenticate(
  db: Database,
  token: string | undefined,
  policy: SessionPolicy,
  now: number,
): Promise<{ ok: true; session: LiveSession } | { ok: false; reason: Rejection }> {
  const parsed = parseSessionToken(token);
  return judge(token, parsed, await sessionById(db, parsed?.id ?? NO_ID), policy, now);
}

/** authenticate()'s decision, on the row its read found. */
function judge(
  token: string | undefined,
  parsed: ReturnType<typeof parseSessionToken>,
  row: StoredSession | null,
  policy: SessionPolicy,
  now: number,
): { ok: true; session: LiveSession } | { ok: false; reason: Rejection } {
  const matches = constantTimeEqual(row?.secretHash ?? NO_SECRET_DIGEST, tokenDigest(parsed?.secret ?? ''));
  if (!parsed) return { ok: false, reason: token === undefined ? 'missing' : 'malformed' };
  if (!row || !matches) return { ok: false, reason: 'unknown' };
  if (row.revokedAt !== null) return { ok: false, reason: 'revoked' };
  const expiresAt = expiryOf(row, policy);
  if (expiresAt <= now) return { ok: false, reason: 'expired' };
  const { id, accountId, client, createdAt, lastSeenAt, revokedAt, mfa, account } = row;
  return { ok: true, session: { id, accountId, client, createdAt, lastSeenAt, revokedAt, mfa, expiresAt, account } };
}

/**
 * Moves "last seen" (and so the idle expiry) to now if it is an hour old; the guard is in the
 * statement, so concurrent requests of one session write once between them. Null when no write is due.
 */
export function slideSession(db: Database, session: SessionRow, now: number): Statement | null {
  if (now - session.lastSeenAt < SLIDE_EVERY_SECONDS * 1000) return null;
  return touchSession(db, session.id, now, now - SLIDE_EVERY_SECONDS * 1000);
}

/**
 * The live session a token names, its idle expiry slid if "last seen" is an hour old: the one
 * check behind every route that needs a session, Latchkey's own and a host app's, so both decide
 * expiry and sliding alike. Why a token failed goes to the log only (a revoked token in use may
 * be a stolen one); the caller learns no more.
 */
export async function checkSession(services: SessionServices, token: string | undefined, now: number, admission: Admission | null = null): Promise<SessionCheck> {
  const { db, config } = services;
  let verdict: Awaited<ReturnType<typeof authenticate>>;
  if (admission) {
    // With the request's hit on its per-client window in the same batch: a route whose flow ended
    // before its own first batch (lib/http/bearer.ts requireSessionInFlow) is checked this way.
    const parsed = parseSessionToken(token);
    const read = await runAdmitted(db, admission, { session: sessionRead(db, parsed?.id ?? NO_ID) }, { soft: true });
    const refused = refusedClient(read.verdict, services.log);
    if (refused) return { ok: false, refused };
    verdict = judge(token, parsed, storedSession(rowsOf<SessionJoinRow>(read.done.session)[0]), config.sessions, now);
  } else {
    // A plain read, which the driver answers without a transaction: GET /session is meant to be cheap.
    verdict = await authenticate(db, token, config.sessions, now);
  }
  if (!verdict.ok) {
    services.log('session_rejected', { reason: verdict.reason });
    return { ok: false };
  }
  const session = verdict.session;
  const slide = slideSession(db, session, now);
  if (!slide) return { ok: true, session };
  await slide.run();
  return { ok: true, session: { ...session, lastSeenAt: now, expiresAt: expiryOf({ ...session, lastSeenAt: now }, config.sessions) } };
}

export const current = (session: LiveSession): CurrentOutcome => ({ kind: 'current', session });

/**
 * Ends the asking session, in the batch that reads it: one trip. Ended already (a logout racing
 * another): the same answer, no write.
 */
export async function logout(services: SessionServices, presented: PresentedSession, now: number): Promise<LogoutOutcome | Unauthenticated> {
  const opened = await openSession(services, presented, now, (gate) => ({ end: endOne(services, gate, gate.id, now) }));
  if (!opened.ok) return { kind: 'unauthenticated' };
  const { session, done } = opened;
  if (done.end.meta.changes === 1) services.log('session_ended', { accountId: session.accountId, session: session.id, reason: 'logout' });
  return { kind: 'ended' };
}

/** The account's live sessions, newest first, read in the batch that reads the asking one: one trip. */
export async function listSessions(services: SessionServices, presented: PresentedSession, now: number): Promise<ListOutcome | Unauthenticated> {
  const opened = await openSession(services, presented, now, (gate) => ({ list: accountSessionsRead(services.db, gate.id) }));
  if (!opened.ok) return { kind: 'unauthenticated' };
  const { session, done } = opened;
  const policy = services.config.sessions;
  const sessions = rowsOf<SessionRow>(done.list)
    .map((row) => ({ ...row, expiresAt: expiryOf(row, policy) }))
    .filter((row) => row.expiresAt > now);
  return { kind: 'listed', email: session.account.email, currentId: session.id, sessions };
}

/** Ends one of the account's live sessions by its id (the asking one included), in the batch that reads the asking one; unknown otherwise. */
export async function endSession(services: SessionServices, presented: PresentedSession, id: string, now: number): Promise<EndOneOutcome | Unauthenticated> {
  const opened = await openSession(services, presented, now, (gate) => ({ end: endOne(services, gate, id, now) }));
  if (!opened.ok) return { kind: 'unauthenticated' };
  const { session, done } = opened;
  if (done.end.meta.changes !== 1) return { kind: 'unknown' };
  services.log('session_revoked', { accountId: session.accountId, session: id, by: session.id });
  return { kind: 'ended' };
}

/** One live session of the asking session's account ends, while the asking one is live. */
const endOne = (services: SessionServices, gate: SessionGate, id: string, now: number) =>
  revokeAccountSession(services.db, gate.id, id, now, endedBefore(services.config.sessions, now), gate.live);

/**
 * A bearer token whose check is left to the flow, so that the flow's first batch reads the session
 * with everything else it needs (openSession). `checked` is set once a check has begun; a request
 * whose flow ended before it (a body that fails validation, a busy hasher) is checked afterwards
 * by the caller (lib/http/bearer.ts), so that a bad token still answers as it did before the body.
 */
export interface PresentedSession {
  token: string | undefined;
  /** The request's hit on its per-client window, which rides in the same batch. */
  admission: Admission | null;
  checked: boolean;
}

export const presentedSession = (token: string | undefined, admission: Admission | null): PresentedSession => ({ token, admission, checked: false });

/** What a flow's parts of the first batch may use: the session's id as the token gives it, and the guard of every write. */
export interface SessionGate {
  id: string;
  /**
   * Holds while the client's window admits the request and the session is live with the token's
   * secret: each write a part makes on the session's word must be guarded by it.
   */
  live: Condition;
}

type BatchPart = Statement | readonly Statement[] | undefined;
export type OpenedSession<P extends Record<string, BatchPart>> = { ok: true; session: LiveSession; done: BatchResults<P> } | { ok: false; refused?: Throttled };

/**
 * checkSession() as the first trip of a flow: one batch of the window's state, the session's row,
 * the flow's own parts (`parts`, built on the gate: a charge, the reads its decision needs), the
 * hourly slide and the window's hit. The token is then judged as checkSession judges it, with the
 * same log line, and the parts' results go back only for a live session.
 */
export async function openSession<P extends Record<string, BatchPart>>(
  services: SessionServices,
  presented: PresentedSession,
  now: number,
  parts: (gate: SessionGate) => P,
): Promise<OpenedSession<P>> {
  const { db, config } = services;
  presented.checked = true;
  const parsed = parseSessionToken(presented.token);
  const id = parsed?.id ?? NO_ID;
  const live = allOf(admitted(presented.admission), sessionLive(id, tokenDigest(parsed?.secret ?? ''), endedBefore(config.sessions, now)));
  const staleBy = now - SLIDE_EVERY_SECONDS * 1000;
  const first = await runAdmitted(db, presented.admission, { [ROW]: sessionRead(db, id), ...parts({ id, live }), [SLIDE]: touchSession(db, id, now, staleBy, live) });
  const refused = refusedClient(first.verdict, services.log);
  if (refused) return { ok: false, refused };
  const { [ROW]: read, [SLIDE]: slide, ...done } = first.done as Record<string, unknown>;
  const verdict = judge(presented.token, parsed, storedSession(rowsOf<SessionJoinRow>(read as RunResult)[0]), config.sessions, now);
  if (!verdict.ok) {
    services.log('session_rejected', { reason: verdict.reason });
    return { ok: false };
  }
  const session = verdict.session;
  const slid = (slide as RunResult).meta.changes === 1;
  const seen = slid ? { ...session, lastSeenAt: now, expiresAt: expiryOf({ ...session, lastSeenAt: now }, config.sessions) } : session;
  return { ok: true, session: seen, done: done as unknown as BatchResults<P> };
}

/** What a flow answers when openSession() opened nothing: the window's refusal, or no live session. */
export const notOpened = (opened: { refused?: Throttled }): Throttled | Unauthenticated => opened.refused ?? { kind: 'unauthenticated' };

// The names of openSession's own parts, apart from any a flow could choose.
const ROW = '\u0000session';
const SLIDE = '\u0000slide';
