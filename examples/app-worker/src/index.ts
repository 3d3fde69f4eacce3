import type LatchkeyWorker from 'latchkey/worker';

export interface Env {
  /** Latchkey's Worker ([[services]] in wrangler.toml): verifySession and revokeSession are RPC calls. */
  AUTH: Service<LatchkeyWorker>;
}

/** The session's token, as the client got it from Latchkey's POST /login. */
function bearerToken(request: Request): string | undefined {
  return /^Bearer +(\S+) *$/i.exec(request.headers.get('Authorization') ?? '')?.[1];
}

const notLoggedIn = () => Response.json({ error: 'not logged in' }, { status: 401, headers: { 'WWW-Authenticate': 'Bearer' } });

export default {
  async fetch(request, env): Promise<Response> {
    const { pathname } = new URL(request.url);
    const token = bearerToken(request);

    if (request.method === 'GET' && pathname === '/api/me') {
      // null when the token names no live session; the same decision as Latchkey's GET /session.
      const found = token ? await env.AUTH.verifySession(token) : null;
      if (!found) return notLoggedIn();
      return Response.json({ user: found.user, session: found.session }, { headers: { 'Cache-Control': 'no-store' } });
    }

    if (request.method === 'POST' && pathname === '/api/logout') {
      // Ends the session as Latchkey's POST /logout does.
      if (!token || !(await env.AUTH.revokeSession(token))) return notLoggedIn();
      return new Response(null, { status: 204 });
    }

    return Response.json({ error: 'not found' }, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
