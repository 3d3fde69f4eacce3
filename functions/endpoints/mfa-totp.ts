/**
 * The authenticator of a logged-in account (lib/flows/mfa-setup.ts, mfa-manage.ts):
 * POST /mfa/totp/setup, /mfa/totp/enable, /mfa/totp/disable and POST /mfa/recovery-codes.
 */
import { z } from '@hono/zod-openapi';
import { enableTotp, setupTotp, type EnableOutcome, type SetupOutcome } from '../../lib/flows/mfa-setup.ts';
import { disableTotp, regenerateRecoveryCodes, type DisableOutcome, type RegenerateOutcome } from '../../lib/flows/mfa-manage.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import { json, type AnswerTable, type AnswerWithBody } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { bearerPost } from '../../lib/http/bearer-routes.ts';
import { SecondFactorCode, WRONG_CODE } from '../../lib/http/mfa-schemas.ts';
import { details } from '../../lib/http/problems.ts';
import { EDGE, validationDetails } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { text, WRONG_PASSWORD } from '../../lib/http/schemas.ts';
import { totpSetupPage } from '../../lib/pages/mfa-pages.ts';

const conflict = (description: string, title: string, detail: string): AnswerWithBody<unknown> => ({
  status: 409,
  description,
  problem: () => details('totp-state', title, detail),
});
const ALREADY_ON = conflict('The account already has an authenticator turned on', 'Authenticator already on', 'Turn it off first (POST /mfa/totp/disable) to set up another.');
const NOT_ON = conflict('The account has no authenticator turned on', 'No authenticator', 'Set one up with POST /mfa/totp/setup first.');
const RecoveryCodes = z.array(z.string()).length(10).openapi({ description: 'Ten single-use codes, shown here once: keep them somewhere safe. Any earlier set no longer works.' });

const SETUP: AnswerTable<Exclude<Extract<SetupOutcome, { kind: string }>, { kind: 'unauthenticated' }>> = {
  pending: {
    status: 200,
    description: 'A new secret, not yet on: add it to the authenticator app, then POST /mfa/totp/enable with a code. A page shows it as a QR code.',
    json: json(
      z.object({
        secret: z.string().openapi({ description: 'The base32 secret (160 bits; SHA-1, 6 digits, 30 s), shown here once' }),
        otpauthUri: z.string().openapi({ description: 'The otpauth:// URI that authenticator apps read from a QR code' }),
      }),
      (o: Extract<SetupOutcome, { kind: 'pending' }>) => ({ secret: o.secret, otpauthUri: o.otpauthUri }),
    ),
    page: (o: Extract<SetupOutcome, { kind: 'pending' }>) => totpSetupPage(o.secret, o.otpauthUri),
  },
  'already-on': ALREADY_ON,
  wrong: WRONG_PASSWORD,
  throttled: EDGE.throttled,
};

const ENABLE: AnswerTable<Exclude<EnableOutcome, { kind: 'unauthenticated' }>> = {
  enabled: {
    status: 200,
    description: 'The authenticator is on; logins now ask for a code. The recovery codes are shown this once.',
    json: json(z.object({ recoveryCodes: RecoveryCodes }), (o: Extract<EnableOutcome, { kind: 'enabled' }>) => ({ recoveryCodes: o.recoveryCodes })),
  },
  'wrong-code': {
    status: 422,
    description: 'The code is not the current one of the secret that was set up; it stays pending',
    problem: () => validationDetails([{ pointer: '/code', detail: 'Not the current code of the key that was set up. Check that the app shows this account and that its clock is right.' }]),
  },
  'not-pending': conflict('No authenticator is waiting to be turned on (none was set up, or it is already on)', 'Nothing to turn on', 'Set one up with POST /mfa/totp/setup first.'),
  throttled: EDGE.throttled,
};

const DISABLE: AnswerTable<Exclude<DisableOutcome, { kind: 'unauthenticated' }>> = {
  disabled: {
    status: 200,
    description: 'The authenticator is off, its recovery codes are gone, every other session has ended, and a notice was mailed',
    json: json(z.object({ status: z.literal('disabled'), sessionsEnded: z.number().int().min(0) }), (o: Extract<DisableOutcome, { kind: 'disabled' }>) => ({
      status: 'disabled' as const,
      sessionsEnded: o.sessionsEnded,
    })),
  },
  wrong: WRONG_PASSWORD,
  'wrong-code': WRONG_CODE,
  'not-on': NOT_ON,
  throttled: EDGE.throttled,
};

const REGENERATE: AnswerTable<Exclude<RegenerateOutcome, { kind: 'unauthenticated' }>> = {
  replaced: {
    status: 200,
    description: 'A new set of recovery codes, shown this once; the old set no longer works',
    json: json(z.object({ recoveryCodes: RecoveryCodes }), (o: Extract<RegenerateOutcome, { kind: 'replaced' }>) => ({ recoveryCodes: o.recoveryCodes })),
  },
  wrong: WRONG_PASSWORD,
  'wrong-code': WRONG_CODE,
  'not-on': NOT_ON,
  throttled: EDGE.throttled,
};

const PasswordBody = z.object({ password: text(1024) }).strict().openapi('TotpSetupRequest');
const CodeBody = z.object({ code: SecondFactorCode }).strict().openapi('TotpEnableRequest');
const PasswordAndCode = z.object({ password: text(1024), code: SecondFactorCode }).strict().openapi('PasswordAndCodeRequest');
const EDGES = ['unavailable', 'busy', 'invalid-fields'] as const;

const setupRoute = bearerPost({
  path: '/mfa/totp/setup',
  operationId: 'setupTotp',
  summary: 'Make a new authenticator secret (not yet on)',
  description:
    'Asks for the password again (a wrong one counts in the login back-off) and answers a new secret and its otpauth:// URI, ' +
    'pending until POST /mfa/totp/enable. A client that prefers text/html gets a page with the QR code.',
  limit: 'login',
  body: PasswordBody,
  answers: SETUP,
  edges: EDGES,
  pages: 'negotiated',
});

const enableRoute = bearerPost({
  path: '/mfa/totp/enable',
  operationId: 'enableTotp',
  summary: 'Turn the authenticator on with a code from it',
  description: 'Checks a code of the pending secret, turns it on, and answers ten single-use recovery codes, shown once.',
  limit: 'login',
  body: CodeBody,
  answers: ENABLE,
  edges: ['unavailable', 'invalid-fields'],
});

const disableRoute = bearerPost({
  path: '/mfa/totp/disable',
  operationId: 'disableTotp',
  summary: 'Turn the authenticator off',
  description: 'Asks for the password and a code (or a recovery code). Ends every other session of the account and mails a notice.',
  limit: 'login',
  body: PasswordAndCode,
  answers: DISABLE,
  edges: EDGES,
});

const regenerateRoute = bearerPost({
  path: '/mfa/recovery-codes',
  operationId: 'replaceRecoveryCodes',
  summary: 'Replace the recovery codes',
  description: 'Asks for the password and a code (or a recovery code) and answers a new set of ten; the old set stops working.',
  limit: 'login',
  body: PasswordAndCode,
  answers: REGENERATE,
  edges: EDGES,
});

export const mfaEndpoints = createRouter()
  .openapi(setupRoute, async function setUpAuthenticator(c) {
    const { db, hasher, sealer, config, now } = c.get('deps');
    const outcome = await setupTotp({ db, hasher, sealer, config, log: c.get('log') }, presentedOf(c), c.req.valid('json').password, now());
    return respondInFlow(c, SETUP, outcome);
  })
  .openapi(enableRoute, async function turnOnAuthenticator(c) {
    const { db, sealer, config, now } = c.get('deps');
    const outcome = await enableTotp({ db, sealer, config, log: c.get('log') }, presentedOf(c), c.req.valid('json').code, now());
    return respondInFlow(c, ENABLE, outcome);
  })
  .openapi(disableRoute, async function turnOffAuthenticator(c) {
    const { db, hasher, sealer, config, now } = c.get('deps');
    const { password, code } = c.req.valid('json');
    const services = { db, hasher, sealer, config, mail: mailQueueFor(c), log: c.get('log') };
    return respondInFlow(c, DISABLE, await disableTotp(services, { bearer: presentedOf(c), password, code }, now()));
  })
  .openapi(regenerateRoute, async function replaceRecoveryCodes(c) {
    const { db, hasher, sealer, config, now } = c.get('deps');
    const { password, code } = c.req.valid('json');
    const services = { db, hasher, sealer, config, mail: mailQueueFor(c), log: c.get('log') };
    return respondInFlow(c, REGENERATE, await regenerateRecoveryCodes(services, { bearer: presentedOf(c), password, code }, now()));
  });
