/**
 * POST /login — email and password in, the account out. Only the right password of an active
 * account succeeds. Everything else — a wrong password, an unknown address, an address still
 * waiting for activation, whatever password — gets the same 401 after the same work (one scrypt
 * verification, against a dummy hash when there is no account). Registrations are never consulted:
 * anyone can create one with a password of their choosing, so a login that answered differently
 * for them would tell an attacker which addresses already have accounts (docs/security.md).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findAccount, replacePasswordHash, type Account } from '../../lib/storage/accounts.ts';
import { chargeDevice, DEVICE_HEADER, lockedNow, newDevice, presentedDigest } from '../../lib/storage/devices.ts';
import type { Statement } from '../../lib/storage/db.ts';
import { parseEmail } from '../../lib/policy/emails.ts';
import { HashQueueFullError } from '../../lib/crypto/hash-queue.ts';
import { accepts, createRouter, Credentials, limitPerClient, problemResponses, respondProblem, tooManyRequests } from '../../lib/http.ts';
import { problem, validationProblem } from '../../lib/http/problems.ts';
import type { Deps } from '../../lib/deps.ts';
import { chargeLoginAttempt, clearLoginFailures, keys } from '../../lib/storage/throttle.ts';
import { refuseWhenBusy } from '../../lib/crypto/hash-queue.ts';

const User = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    createdAt: z.string().datetime(),
    activatedAt: z.string().datetime(),
  })
  .openapi('User');

const Device = z
  .object({
    token: z.string().openapi({ description: `Send it back in the ${DEVICE_HEADER} header on later logins; it replaces the one sent with this login` }),
    expiresAt: z.string().datetime(),
  })
  .openapi('Device');

const route = createRoute({
  method: 'post',
  path: '/login',
  summary: 'Log in with email and password',
  middleware: [limitPerClient('login'), accepts('json')] as const,
  request: {
    headers: z.object({
      [DEVICE_HEADER.toLowerCase()]: z.string().optional().openapi({
        description:
          'The device token from an earlier successful login of this account. While it is trusted, the login is ' +
          "charged to it instead of the address's back-off; a missing, unknown, expired, locked or other account's token counts as none.",
      }),
    }),
    body: { required: true, content: { 'application/json': { schema: Credentials } } },
  },
  responses: {
    200: {
      description: 'The password is right and the account active',
      content: { 'application/json': { schema: z.object({ user: User, device: Device }) } },
    },
    ...problemResponses(400, 401, 413, 415, 422, 429, 503),
  },
});

const WRONG = problem(
  401,
  'invalid-credentials',
  'Wrong email or password',
  'Check both and try again. A new account works only once it is activated with the link we mailed.',
);

const userView = (a: Account) => ({
  id: a.id,
  email: a.email,
  createdAt: new Date(a.createdAt).toISOString(),
  activatedAt: new Date(a.activatedAt).toISOString(),
});

/**
 * Upgrades a hash made with older parameters, now that we hold the password that matches it: the
 * statement to run with the login's other writes, if any.
 */
async function rehashIfOutdated(deps: Deps, account: Account, password: string): Promise<Statement[]> {
  if (!deps.hasher.needsRehash(account.passwordHash)) return [];
  let fresh: string;
  try {
    fresh = await deps.hasher.hash(password);
  } catch (error) {
    // Too busy to rehash now: the login itself has succeeded, and the next one will rehash.
    if (error instanceof HashQueueFullError) return [];
    throw error;
  }
  return [replacePasswordHash(deps.db, account.id, account.passwordHash, fresh)];
}

export const login = createRouter().openapi(route, async (c) => {
  const deps = c.var.deps;
  const { db, config, hasher, log, now } = deps;
  const { email, password } = c.req.valid('json');
  const parsed = parseEmail(email);
  if (!parsed.ok) return respondProblem(validationProblem([{ pointer: '/email', detail: parsed.detail }]));
  const key = parsed.email.key;

  refuseWhenBusy(hasher);
  // A device token trusted for this address takes the attempt (lib/storage/devices.ts); any other token
  // runs the same statement, changes nothing, and the login goes on exactly as without one.
  const presented = presentedDigest(c.req.header(DEVICE_HEADER));
  const device = await chargeDevice(db, presented, key, config.devices, now());
  // Otherwise charged to the address named, whether or not it has an account: the back-off then
  // looks the same for every address and cannot be used to find out which ones exist.
  if (!device) {
    const attempt = await chargeLoginAttempt(db, keys.login(key), config.throttle.loginFailures, now());
    if (!attempt.ok) return tooManyRequests(c, 'login', attempt);
  }

  // One lookup and one verification on every branch, so the work does not depend on the address.
  const account = await findAccount(db, key);
  const matches = account ? await hasher.verify(password, account.passwordHash) : await hasher.verifyDummy(password);

  if (account && matches) {
    // A device's success leaves the address's failures alone: clearing them would give guessers
    // fresh free attempts each time the owner logs in.
    // One batch: the cleared failures, the upgraded hash and the new device token commit together.
    const clear = device ? [] : [clearLoginFailures(db, keys.login(key))];
    const rehash = await rehashIfOutdated(deps, account, password);
    const fresh = newDevice(db, account.id, presented, config.devices, now());
    await db.batch([...clear, ...rehash, ...fresh.statements]);
    if (rehash.length > 0) log('password_rehashed', { accountId: account.id });
    log('login_ok', { accountId: account.id, device: device !== null });
    return c.json({ user: userView(account), device: fresh.issued }, 200);
  }
  log('login_failed', account ? { accountId: account.id, reason: 'password', device: device !== null } : { reason: 'no-account' });
  if (device && lockedNow(device, config.devices)) log('device_locked', { accountId: device.accountId });
  return respondProblem(WRONG);
});
