/**
 * POST /login/mfa — the second step of a login to an account with an authenticator: the challenge
 * that POST /login answered with, and a code (or a recovery code), for the session and device
 * token a login gives (lib/flows/mfa-login.ts). Every failure is the same 401.
 */
import { z } from '@hono/zod-openapi';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import { answerChallenge, type AnswerChallengeOutcome } from '../../lib/flows/mfa-login.ts';
import type { AnswerTable } from '../../lib/http/answers.ts';
import { SecondFactorCode } from '../../lib/http/mfa-schemas.ts';
import { details } from '../../lib/http/problems.ts';
import { EDGE, respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { jsonPost } from '../../lib/http/routes.ts';
import { text } from '../../lib/http/schemas.ts';
import { loggedIn } from './login.ts';

const Challenge = text(128).openapi({ description: 'The challenge from the 202 answer of POST /login' });

// Exactly one of the two: an app's code, or a recovery code.
export const LoginMfaRequest = z
  .union([
    z.object({ challenge: Challenge, code: SecondFactorCode }).strict(),
    z.object({ challenge: Challenge, recoveryCode: SecondFactorCode }).strict(),
  ])
  .openapi('LoginMfaRequest');

const ANSWERS: AnswerTable<AnswerChallengeOutcome> = {
  ok: { status: 200, description: 'The code is right: the answer of a login, with a session made with a second factor', json: loggedIn },
  wrong: {
    status: 401,
    description: 'A wrong or already used code, or a challenge that is unknown, used, expired, or spent by 5 wrong codes (the same answer)',
    problem: () => details('invalid-code', 'Wrong code or challenge', 'Check the code and try again; if it keeps failing, log in again with your password for a new challenge.'),
  },
  throttled: EDGE.throttled,
};

const route = jsonPost({
  path: '/login/mfa',
  operationId: 'loginMfa',
  summary: 'Finish a login with a code from the authenticator app, or a recovery code',
  description:
    'Trades the challenge of a login to an account with an authenticator, and a code, for the session and device token ' +
    'that a login gives. Each code works once (the same 30-second step never twice); a challenge takes 5 codes at most, ' +
    "and every code counts as a login attempt of the address (429 says when to try again).",
  limit: 'login',
  body: LoginMfaRequest,
  answers: ANSWERS,
  edges: ['unavailable', 'invalid-fields'],
});

export const loginMfaEndpoint = createRouter().openapi(route, async function logInWithCode(c) {
  const { db, sealer, config, now } = c.get('deps');
  const body = c.req.valid('json');
  const code = 'code' in body ? body.code : body.recoveryCode;
  const outcome = await answerChallenge({ db, sealer, config, log: c.get('log') }, { challenge: body.challenge, code, client: c.get('client'), admission: admissionOf(c) }, now());
  return respond(c, ANSWERS, outcome, undefined);
});
