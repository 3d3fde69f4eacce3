/**
 * POST /register — start an account. The answer is the same 202 whether the address is new,
 * waiting for activation, or already active, and every branch costs one password hash, so the
 * endpoint says nothing about which addresses have accounts. Only the mailbox learns that.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { addRegistration, findAccount } from '../../lib/storage/accounts.ts';
import { newLink } from '../../lib/flows/activation.ts';
import { parseEmail } from '../../lib/policy/emails.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { accepts, createRouter, Credentials, limitPerClient, problemResponses, respondProblem, sendMail } from '../../lib/http.ts';
import { activationMail, alreadyRegisteredMail } from '../../lib/mail/mail.ts';
import { passwordProblems } from '../../lib/policy/password-policy.ts';
import { validationProblem, type FieldError } from '../../lib/http/problems.ts';
import { chargeMail } from '../../lib/storage/throttle.ts';
import { refuseWhenBusy } from '../../lib/crypto/hash-queue.ts';


export const Pending = z
  .object({ status: z.literal('pending'), message: z.string() })
  .openapi('Pending');

const PENDING = {
  status: 'pending' as const,
  message: 'If this address can be registered, an activation link is on its way to it.',
};

const route = createRoute({
  method: 'post',
  path: '/register',
  summary: 'Register with an email address and a password',
  middleware: [limitPerClient('register'), accepts('json')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: Credentials } } } },
  responses: {
    202: { description: 'Accepted; an activation mail was written if the address can be registered', content: { 'application/json': { schema: Pending } } },
    ...problemResponses(400, 413, 415, 422, 429, 503),
  },
});

export const register = createRouter().openapi(route, async (c) => {
  const { db, config, hasher, log, now } = c.var.deps;
  const body = c.req.valid('json');

  const parsed = parseEmail(body.email);
  const errors: FieldError[] = [];
  if (!parsed.ok) errors.push({ pointer: '/email', detail: parsed.detail });
  const weak = passwordProblems(body.password, parsed.ok ? parsed.email.key : null, config.passwordPolicy);
  errors.push(...weak.map((detail) => ({ pointer: '/password', detail })));
  if (!parsed.ok || errors.length > 0) return respondProblem(validationProblem(errors));
  const email = parsed.email;

  // Every register mails the address (a link, or "already registered"), so every one is charged
  // to the mail allowances. Over one, the answer and the work stay the same and only the mail is
  // left out: a 429 here would let anyone shut the owner out, and would tell of recent activity.
  refuseWhenBusy(hasher);
  const mayMail = await chargeMail(db, config.throttle, email.key, clientLimitKey(c.var.client), now());
  if (!mayMail) log('throttled', { rule: 'mail', path: c.req.path });

  // The same work on every branch: one hash, one lookup, one guarded insert (a no-op when the
  // address already has an account). Only the mailbox learns which branch it was. Over the mail
  // allowance the registration is still stored (docs/security.md, "Mail allowances" says why).
  const passwordHash = await hasher.hash(body.password);
  const account = await findAccount(db, email.key);
  const link = newLink(config, now());
  const { tokenHash, createdAt, expiresAt } = link;
  const stored = await addRegistration(db, { tokenHash, email: email.display, emailKey: email.key, passwordHash, createdAt, expiresAt });

  if (stored) {
    log('registered', { email: email.key });
    if (mayMail) sendMail(c, activationMail(email.display, link.url, config.tokenTtlSeconds));
  } else if (account) {
    log('register_existing', { accountId: account.id });
    if (mayMail) sendMail(c, alreadyRegisteredMail(account.email));
  }
  return c.json(PENDING, 202);
});
