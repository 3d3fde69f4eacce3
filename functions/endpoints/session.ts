/**
 * GET /session — who the bearer token's session belongs to (what another service calls to check a
 * session: one indexed read, a write at most hourly); POST /logout — end it (lib/flows/sessions.ts).
 */
import { z } from '@hono/zod-openapi';
import { current, logout, type CurrentOutcome, type LogoutOutcome } from '../../lib/flows/sessions.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow, sessionOf } from '../../lib/http/bearer.ts';
import { respond } from '../../lib/http/respond.ts';
import { createRouter } from '../../lib/http/router.ts';
import { bearerRoute } from '../../lib/http/bearer-routes.ts';
import { sessionView, User, userView } from '../../lib/http/schemas.ts';

const CurrentSession = z
  .object({
    id: z.string(),
    createdAt: z.string().datetime(),
    expiresAt: z.string().datetime(),
    mfa: z.boolean().openapi({ description: 'Whether the login that made this session gave a second factor (an authenticator or recovery code) as well as the password' }),
  })
  .openapi('CurrentSession');

const CURRENT: AnswerTable<CurrentOutcome> = {
  current: {
    status: 200,
    description: 'The session is live: its account, and when it ends unless used again',
    json: json(z.object({ user: User, session: CurrentSession }), ({ session: s }: CurrentOutcome) => ({
      user: userView(s.account),
      session: sessionView(s),
    })),
  },
};

const LOGGED_OUT: AnswerTable<LogoutOutcome> = {
  ended: { status: 204, description: 'The session has ended; its token no longer works', empty: true },
};

const whoAmI = bearerRoute({
  method: 'get',
  path: '/session',
  operationId: 'getSession',
  summary: 'The session and account of a bearer token',
  description: 'What another service calls to check a session: one indexed read, and a write at most once an hour to slide the idle expiry.',
  answers: CURRENT,
  edges: [],
});
const logoutRoute = bearerRoute({
  method: 'post',
  path: '/logout',
  operationId: 'logout',
  summary: 'End the session',
  description: 'The token stops working at once.',
  answers: LOGGED_OUT,
  edges: ['unavailable'],
  inFlow: true,
});

export const sessionEndpoints = createRouter()
  .openapi(whoAmI, async function showSession(c) {
    return respond(c, CURRENT, current(sessionOf(c)), undefined);
  })
  .openapi(logoutRoute, async function logOut(c) {
    const { db, config, now } = c.get('deps');
    const outcome = await logout({ db, config, log: c.get('log') }, presentedOf(c), now());
    return respondInFlow(c, LOGGED_OUT, outcome);
  });
