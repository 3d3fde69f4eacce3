/**
 * Accounts and pending registrations in SQL, through the D1-shaped Database interface.
 * The rules that need atomicity live in the statements themselves, so that they hold under
 * concurrent requests on D1, which has no interactive transactions.
 */
import { runBatch, type Condition, type Database, type Statement } from './db.ts';
import { addressReserved } from './email-changes.ts';

export interface Account {
  id: string;
  email: string;
  emailKey: string;
  passwordHash: string;
  createdAt: number;
  activatedAt: number;
}

export interface Registration {
  tokenHash: string;
  email: string;
  emailKey: string;
  passwordHash: string;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

const ACCOUNT_COLUMNS = `id, email, email_key AS emailKey, password_hash AS passwordHash,
  created_at AS createdAt, activated_at AS activatedAt`;
const REGISTRATION_COLUMNS = `token_hash AS tokenHash, email, email_key AS emailKey,
  password_hash AS passwordHash, created_at AS createdAt, expires_at AS expiresAt, consumed_at AS consumedAt`;

/** The read of the account with this address key, for a batch: its rows are Accounts. */
export function accountRead(db: Database, emailKey: string): Statement {
  return db.prepare(`SELECT ${ACCOUNT_COLUMNS} FROM accounts WHERE email_key = ?`).bind(emailKey);
}

/**
 * Stores a pending registration unless the address already has an account, in one statement, so
 * that every branch of /register does the same database work; for the caller's batch. It stores a
 * row (changes 1) only when the address has no account.
 */
export function addRegistration(db: Database, registration: Omit<Registration, 'consumedAt'>): Statement {
  const r = registration;
  // An address held for an undo of a change of address (lib/storage/email-changes.ts) is as taken.
  const reserved = addressReserved(r.emailKey, r.createdAt);
  return db
    .prepare(
      `INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at)
       SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM accounts WHERE email_key = ?) AND NOT ${reserved.sql}`,
    )
    .bind(r.tokenHash, r.email, r.emailKey, r.passwordHash, r.createdAt, r.expiresAt, r.emailKey, ...reserved.values);
}

/** The registration (or renewed link) with this token's digest was stored: a guard for the mail that carries it. */
export const registrationStored = (tokenHash: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM registrations WHERE token_hash = ?)',
  values: [tokenHash],
});

/** The address has an account. */
export const accountExists = (emailKey: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM accounts WHERE email_key = ?)',
  values: [emailKey],
});

/**
 * A new link for the newest unconsumed registration of an address (expired or not), unless the
 * address has an account; one statement whatever the address's state, so /resend-activation costs
 * the same for every address, and the caller commits it in one batch with its others
 * (lib/flows/resend-activation.ts). It stores a row only when a link was renewed. The copied hash
 * decides nothing: it only spares the person who typed that password a confirmation at activation
 * (lib/flows/activation.ts), so it does not matter whose registration is newest.
 */
export function renewal(db: Database, emailKey: string, link: { tokenHash: string; createdAt: number; expiresAt: number }): Statement {
  return db
    .prepare(
      `INSERT INTO registrations (token_hash, email, email_key, password_hash, created_at, expires_at)
       SELECT ?, email, email_key, password_hash, ?, ? FROM registrations
       WHERE email_key = ? AND consumed_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM accounts WHERE email_key = ?)
       ORDER BY created_at DESC LIMIT 1`,
    )
    .bind(link.tokenHash, link.createdAt, link.expiresAt, emailKey, emailKey);
}

/** A registration, with the account its address has now, if any: what an activation link can do. */
export interface RegistrationLink extends Registration {
  accountId: string | null;
  accountEmail: string | null;
}

/**
 * The registration with this token's digest and the account of its address, in one read for a
 * batch (its rows are RegistrationLinks): the link's state needs both, and a second read would be
 * a second round trip.
 */
export function registrationLinkRead(db: Database, tokenHash: string): Statement {
  return db
    .prepare(
      `SELECT r.token_hash AS tokenHash, r.email, r.email_key AS emailKey, r.password_hash AS passwordHash,
         r.created_at AS createdAt, r.expires_at AS expiresAt, r.consumed_at AS consumedAt,
         a.id AS accountId, a.email AS accountEmail
       FROM registrations r LEFT JOIN accounts a ON a.email_key = r.email_key
       WHERE r.token_hash = ?`,
    )
    .bind(tokenHash);
}

/**
 * The newest registration for an address that no activation has consumed yet.
 * With `validAt`, only one whose link still works at that time.
 */
/** latestRegistration() without `validAt`, for a batch: its rows are Registrations. */
export function latestRegistrationRead(db: Database, emailKey: string): Statement {
  return db.prepare(`SELECT ${REGISTRATION_COLUMNS} FROM registrations WHERE email_key = ? AND consumed_at IS NULL ORDER BY created_at DESC LIMIT 1`).bind(emailKey);
}

/** The address has an account or a registration no activation has consumed (latestRegistration() finds one). */
export const addressKnown = (emailKey: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM accounts WHERE email_key = ?) OR EXISTS (SELECT 1 FROM registrations WHERE email_key = ? AND consumed_at IS NULL)',
  values: [emailKey, emailKey],
});

export function latestRegistration(db: Database, emailKey: string, validAt?: number): Promise<Registration | null> {
  const stillValid = validAt === undefined ? '' : 'AND expires_at > ?';
  const statement = db.prepare(
    `SELECT ${REGISTRATION_COLUMNS} FROM registrations
     WHERE email_key = ? AND consumed_at IS NULL ${stillValid}
     ORDER BY created_at DESC LIMIT 1`,
  );
  return (validAt === undefined ? statement.bind(emailKey) : statement.bind(emailKey, validAt)).first<Registration>();
}

/**
 * Turns one registration into the account, with the password hash that the person holding its
 * link confirmed (lib/flows/activation.ts), and consumes every other outstanding link for the address —
 * all or nothing, in one batch. Only the call that created the account inserts it (`account`
 * changes one row); concurrent or repeated calls change nothing. Named, for runBatch: the caller
 * may read the link again after them, in the same batch.
 */
export function activationStatements(
  db: Database,
  activation: { tokenHash: string; emailKey: string; accountId: string; passwordHash: string },
  now: number,
) {
  const { tokenHash, emailKey, accountId, passwordHash } = activation;
  const reserved = addressReserved(emailKey, now);
  return {
    account: db
      .prepare(
        `INSERT INTO accounts (id, email, email_key, password_hash, created_at, activated_at)
         SELECT ?, email, email_key, ?, created_at, ? FROM registrations
         WHERE token_hash = ? AND consumed_at IS NULL AND expires_at > ? AND NOT ${reserved.sql}
         ON CONFLICT (email_key) DO NOTHING`,
      )
      .bind(accountId, passwordHash, now, tokenHash, now, ...reserved.values),
    consumeOthers: db
      .prepare(
        `UPDATE registrations SET consumed_at = ?
         WHERE email_key = ? AND consumed_at IS NULL
           AND EXISTS (SELECT 1 FROM accounts WHERE email_key = ?)`,
      )
      .bind(now, emailKey, emailKey),
  };
}

/** activationStatements() run alone: true only for the one call that created the account. */
export async function activateRegistration(
  db: Database,
  activation: { tokenHash: string; emailKey: string; accountId: string; passwordHash: string },
  now: number,
): Promise<boolean> {
  const done = await runBatch(db, activationStatements(db, activation, now));
  return done.account.meta.changes === 1;
}

/**
 * The account still has exactly this hash: the guard of every write made on the strength of a
 * password that was verified (or just set), so that a concurrent change of the password turns the
 * write into a no-op instead of letting it act on a password that no longer opens the account.
 */
export const accountHasHash = (accountId: string, passwordHash: string): Condition => ({
  sql: 'EXISTS (SELECT 1 FROM accounts WHERE id = ? AND password_hash = ?)',
  values: [accountId, passwordHash],
});

/**
 * Replaces a hash only if it is still the one that was verified (a concurrent change wins). The
 * statement, for the caller to run in the batch of the login's other writes.
 */
export function replacePasswordHash(db: Database, accountId: string, oldHash: string, newHash: string): Statement {
  return db.prepare('UPDATE accounts SET password_hash = ? WHERE id = ? AND password_hash = ?').bind(newHash, accountId, oldHash);
}
