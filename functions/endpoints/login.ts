/**
 * POST /login — email and password in, the account, a device token and a new session out
 * (lib/flows/login.ts).
 * Every failure is the same 401.
 */
import { z } from '@hono/zod-openapi';
import { login, type LoginOutcome } from '../../lib/flows/login.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { details } from '../../lib/http/problems.ts';
import { EDGE, INVALID_FIELDS, respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { jsonPost } from '../../lib/http/routes.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import { LoginRequest, User, userView } from '../../lib/http/schemas.ts';
import { DEVICE_HEADER } from '../../lib/http/device-header.ts';

const Device = z
  .object({
    token: z.string().openapi({ description: `Send it back in the ${DEVICE_HEADER} header on later logins; it replaces the one sent with this login` }),
    expiresAt: z.string().datetime(),
  })
  .openapi('Device');

const Session = z
  .object({
    token: z.string().openapi({ description: 'Send it as "Authorization: Bearer <token>". Shown here once; keep it secret (an HttpOnly cookie on your own site, say).' }),
    expiresAt: z.string().datetime().openapi({ description: 'When it ends unless used: the idle expiry moves with use, up to the absolute one' }),
  })
  .openapi('NewSession');

/** The body of a login that gives a session: POST /login's, and POST /login/mfa's (functions/endpoints/mfa-login.ts). */
export const loggedIn = json(z.object({ user: User, device: Device, session: Session }), (o: Extract<LoginOutcome, { kind: 'ok' }>) => ({
  user: userView(o.account),
  device: o.device,
  session: { token: o.session.token, expiresAt: o.session.expiresAt },
}));

const MfaRequired = z
  .object({
    status: z.literal('mfa_required'),
    challenge: z.string().openapi({ description: 'Send it to POST /login/mfa with a code from the authenticator app (or a recovery code). Shown here once; it works once.' }),
    expiresAt: z.string().datetime(),
  })
  .openapi('MfaRequired');

const ANSWERS: AnswerTable<LoginOutcome> = {
  ok: {
    status: 200,
    description: 'The password is right and the account active (and has no second factor)',
    json: loggedIn,
  },
  mfa_required: {
    status: 202,
    description: 'The password is right, and the account has an authenticator: no session yet; POST /login/mfa with the challenge and a code',
    json: json(MfaRequired, (o: Extract<LoginOutcome, { kind: 'mfa_required' }>) => ({ status: 'mfa_required' as const, challenge: o.challenge.token, expiresAt: o.challenge.expiresAt })),
  },
  wrong: {
    status: 401,
    description: 'Wrong email or password (or the account is not active yet: the same answer)',
    problem: () =>
      details(
        'invalid-credentials',
        'Wrong email or password',
        'Check both and try again. A new account works only once it is activated with the link we mailed.',
      ),
  },
  throttled: EDGE.throttled,
  invalid: INVALID_FIELDS,
};

const route = jsonPost({
  path: '/login',
  operationId: 'login',
  summary: 'Log in with email and password',
  description:
    'Checks the password of an active account and returns the account and a device token. A wrong password, an ' +
    'unknown address and an account not yet activated all get the same 401; repeated failures slow the address down (429).',
  limit: 'login',
  botCheck: true,
  body: LoginRequest,
  headers: z.object({
    [DEVICE_HEADER.toLowerCase()]: z.string().optional().openapi({
      description:
        'The device token from an earlier successful login of this account. While it is trusted, the login is ' +
        "charged to it instead of the address's back-off; a missing, unknown, expired, locked or other account's token counts as none.",
    }),
  }),
  answers: ANSWERS,
  edges: ['unavailable', 'busy'],
});

export const loginEndpoint = createRouter().openapi(route, async function logIn(c) {
  const { db, hasher, config, now } = c.get('deps');
  const { email, password } = c.req.valid('json');
  const deviceToken = c.req.header(DEVICE_HEADER);
  const outcome = await login({ db, hasher, config, log: c.get('log') }, { email, password, deviceToken, client: c.get('client'), admission: admissionOf(c) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
