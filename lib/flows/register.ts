/**
 * Registering: an address and a password in, a pending registration and a mail out. The outcome
 * is `accepted` whether the address is new, waiting for activation, or already active, and every
 * branch does the same work — a lookup, one hash, a batch of the guarded insert, its mails and the
 * mail allowances' charges — so the answer and its timing say nothing about which addresses have
 * accounts. Only the mailbox learns that. Two round trips, one on each side of the hash.
 */
import type { Config } from '../config/config.ts';
import { refuseWhenBusy } from '../crypto/hash-queue.ts';
import type { PasswordHasher } from '../crypto/passwords.ts';
import type { EventLog } from '../log.ts';
import { activationMail, alreadyRegisteredMail } from '../mail/mail.ts';
import type { MailQueue } from '../mail/outbox.ts';
import { parseEmail } from '../policy/emails.ts';
import { passwordProblems } from '../policy/password-policy.ts';
import { accountExists, accountRead, addRegistration, registrationStored, type Account } from '../storage/accounts.ts';
import { allOf, not, rowsOf, runBatch, type Database } from '../storage/db.ts';
import { mailCharges, mailVerdict, runAdmitted, type Admission } from '../storage/throttle.ts';
import { refusedClient, type Throttled } from './admission.ts';
import type { FieldError } from './field-error.ts';
import { newLink } from './links.ts';
import { chosenPasswordProblems, type ChosenPasswordServices } from './chosen-password.ts';

export interface RegisterServices extends ChosenPasswordServices {
  db: Database;
  hasher: PasswordHasher;
  config: Pick<Config, 'publicUrl' | 'tokenTtlSeconds' | 'passwordPolicy' | 'throttle'>;
  mail: MailQueue;
  log: EventLog;
}

export interface RegisterRequest {
  email: string;
  password: string;
  /** Whose mail allowance the mail is charged to (lib/http/client-address.ts, clientLimitKey). */
  clientKey: string;
  /** The request's hit on its per-client window, carried in the first batch (lib/storage/throttle.ts). */
  admission?: Admission | null;
}

export type RegisterOutcome = { kind: 'invalid'; errors: FieldError[] } | { kind: 'accepted' } | Throttled;

export async function register(services: RegisterServices, request: RegisterRequest, now: number): Promise<RegisterOutcome> {
  const { db, hasher, config, mail, log } = services;
  const parsed = parseEmail(request.email);
  if (!parsed.ok) {
    const errors: FieldError[] = [{ pointer: '/email', detail: parsed.detail }];
    const weak = passwordProblems(request.password, null, config.passwordPolicy);
    return { kind: 'invalid', errors: [...errors, ...weak.map((detail) => ({ pointer: '/password', detail }))] };
  }
  const email = parsed.email;

  // The first of two round trips, before the breached-password lookup and the hash, so that a
  // client over its window costs neither: the window's hit and the account's read (whose spelling
  // the notice goes to), soft as the window is (docs/design.md, "How each flow's batch decides").
  const admission = request.admission ?? null;
  const first = await runAdmitted(db, admission, { account: accountRead(db, email.key) }, { soft: true });
  const refused = refusedClient(first.verdict, log);
  if (refused) return refused;
  const account = rowsOf<Account>(first.done.account)[0] ?? null;

  // The lookup depends on the password alone, so it tells nothing about the address.
  const weak = await chosenPasswordProblems(services, request.password, email.key, config.passwordPolicy);
  if (weak.length > 0) return { kind: 'invalid', errors: weak.map((detail) => ({ pointer: '/password', detail })) };

  // The same work on every branch: one hash and one batch of the guarded insert, both possible
  // mails, each queued only if its guard holds at commit (lib/mail/outbox.ts), and the mail
  // allowances' three charges after them, decided in SQL. Every register mails the address (a link,
  // or "already registered"), so every one is charged. Over an allowance, the answer and the work
  // stay the same and only the mail is left out: a refusal here would let anyone shut the owner
  // out, and would tell of recent activity. Over the mail allowance the registration is still
  // stored (docs/security.md, "A register over the mail allowance is still stored", says why).
  refuseWhenBusy(hasher);
  const passwordHash = await hasher.hash(request.password);
  const link = newLink(config, now);
  const { tokenHash, createdAt, expiresAt } = link;
  const stored = registrationStored(tokenHash);
  const { charges, allows } = mailCharges(db, config.throttle, email.key, request.clientKey, now, { mails: allOf(), admits: allOf() });
  const options = { now, usefulForSeconds: config.tokenTtlSeconds };
  const activation = await mail.queue(activationMail(email.display, link.url, config.tokenTtlSeconds), { ...options, onlyIf: allOf(allows, stored) });
  const notice = await mail.queue(alreadyRegisteredMail(account?.email ?? email.display), {
    ...options,
    onlyIf: allOf(allows, not(stored), accountExists(email.key)),
  });
  // The mails before the charges, so that `allows` reads the allowances as the charges found them.
  const done = await runBatch(db, {
    registration: addRegistration(db, { tokenHash, email: email.display, emailKey: email.key, passwordHash, createdAt, expiresAt }),
    activation: activation.statement,
    notice: notice.statement,
    ...charges,
  });
  const mayMail = mailVerdict(config.throttle, done, true);
  if (!mayMail) log('throttled', { rule: 'mail' });

  const wasStored = done.registration.meta.changes === 1;
  mail.committed(activation, done.activation.meta.changes, mayMail && wasStored);
  mail.committed(notice, done.notice.meta.changes, mayMail && !wasStored && account !== null);
  if (wasStored) log('registered', { email: email.key });
  else if (account) log('register_existing', { accountId: account.id });
  return { kind: 'accepted' };
}
