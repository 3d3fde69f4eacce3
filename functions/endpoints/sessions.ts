/**
 * GET /sessions — the account's live sessions; DELETE /sessions/{id} — end one of them, only the
 * account's own (lib/flows/sessions.ts).
 */
import { z } from '@hono/zod-openapi';
import { endSession, listSessions, type EndOneOutcome, type ListOutcome } from '../../lib/flows/sessions.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { presentedOf, respondInFlow } from '../../lib/http/bearer.ts';
import { details } from '../../lib/http/problems.ts';
import { createRouter } from '../../lib/http/router.ts';
import { bearerRoute, bearerRouteWithParams } from '../../lib/http/bearer-routes.ts';
import { isoTime, text } from '../../lib/http/schemas.ts';

const SessionEntry = z
  .object({
    id: z.string(),
    createdAt: z.string().datetime(),
    lastSeenAt: z.string().datetime().openapi({ description: 'Moved at most once an hour' }),
    expiresAt: z.string().datetime(),
    client: z.string().openapi({ description: 'The client address the login came from' }),
    current: z.boolean().openapi({ description: 'Whether this is the session that asked' }),
  })
  .openapi('SessionEntry');

const LIST: AnswerTable<ListOutcome> = {
  listed: {
    status: 200,
    description: "The account's live sessions, newest first",
    json: json(z.object({ email: z.string().openapi({ description: "The account's address now (it follows a change of address)" }), sessions: z.array(SessionEntry) }), (o: ListOutcome) => ({
      email: o.email,
      sessions: o.sessions.map((s) => ({
        id: s.id,
        createdAt: isoTime(s.createdAt),
        lastSeenAt: isoTime(s.lastSeenAt),
        expiresAt: isoTime(s.expiresAt),
        client: s.client,
        current: s.id === o.currentId,
      })),
    })),
  },
};

const END_ONE: AnswerTable<EndOneOutcome> = {
  ended: { status: 204, description: 'The session has ended; its token no longer works', empty: true },
  unknown: {
    status: 404,
    description: 'No live session of this account has that id (another account\'s is answered the same)',
    problem: () => details('session-not-found', 'No such session', 'None of your live sessions has this id.'),
  },
};

const listRoute = bearerRoute({
  method: 'get',
  path: '/sessions',
  operationId: 'listSessions',
  summary: "The account's live sessions",
  description: 'Each with when it was created and last seen, when it expires, the client address of its login, and whether it is the one asking.',
  answers: LIST,
  edges: [],
  inFlow: true,
});
/** The path's parameters, as functions/api.ts validates them too. */
export const SessionIdParams = z.object({ id: text(64).openapi({ param: { name: 'id', in: 'path' }, description: 'A session id from GET /sessions' }) });

const endRoute = bearerRouteWithParams({
  method: 'delete',
  path: '/sessions/{id}',
  operationId: 'endSession',
  summary: 'End one of the account\'s sessions',
  description: "Only the account's own sessions: another account's session id is a 404, like an unknown one.",
  params: SessionIdParams,
  answers: END_ONE,
  edges: ['invalid-fields'],
  inFlow: true,
});

export const sessionsEndpoints = createRouter()
  .openapi(listRoute, async function showSessions(c) {
    const { db, config, now } = c.get('deps');
    return respondInFlow(c, LIST, await listSessions({ db, config, log: c.get('log') }, presentedOf(c), now()));
  })
  .openapi(endRoute, async function endOneSession(c) {
    const { db, config, now } = c.get('deps');
    const { id } = c.req.valid('param');
    return respondInFlow(c, END_ONE, await endSession({ db, config, log: c.get('log') }, presentedOf(c), id, now()));
  });
