import { Hono } from 'hono';
import { createLatchkey, type Database, type LatchkeyOptions, type MailTransport } from 'latchkey';

export interface AppOptions {
  /** Latchkey's tables: a D1 binding on Workers (src/worker.ts), sql.js on Node (src/node.ts). */
  database: Database;
  /** Where the app is reached; Latchkey's links (activation, reset) point under /auth there. */
  origin: string;
  /** Your mailer; unset, mails are written to the log. */
  transport?: MailTransport;
  /** Breached-password lookups; unset, api.pwnedpasswords.com is asked in production. */
  breachedPasswords?: { check: 'pwned' | 'off' };
  /** The client's IP address as your runtime vouches for it, for the per-client limits; unset, all are one client. */
  clientAddress?: LatchkeyOptions['clientAddress'];
}

export function createApp({ database, origin, transport, breachedPasswords, clientAddress }: AppOptions) {
  // Your own rows about each account, kept in step by the hooks (each runs after Latchkey's commit).
  const profiles = new Map<string, { email: string; plan: 'free' | 'paid' }>();
  const latchkey = createLatchkey({
    database,
    publicUrl: `${origin}/auth`,
    ...(transport ? { transport } : {}),
    ...(breachedPasswords ? { breachedPasswords } : {}),
    ...(clientAddress ? { clientAddress } : {}),
    onActivated: (user) => void profiles.set(user.id, { email: user.email, plan: 'free' }),
    onAccountDeleted: ({ id }) => void profiles.delete(id),
  });

  const app = new Hono();
  // Register, activate, login, logout, sessions, password reset: Latchkey's own endpoints.
  app.route('/auth', latchkey.app);
  // Your routes: the session's token as a bearer token, or in the cookie your pages set.
  app.get('/api/me', latchkey.requireSession({ cookie: '__Host-session' }), (c) => {
    return c.json({ user: c.var.user, session: c.var.session, profile: profiles.get(c.var.user.id) });
  });
  // Or the flows themselves, with the endpoints' checks, limits and outcomes: a login form of your own.
  app.post('/api/login', async (c) => {
    const form = await c.req.parseBody();
    const outcome = await latchkey.api.login({ email: String(form.email ?? ''), password: String(form.password ?? '') });
    if (outcome.kind === 'ok') return c.json({ user: outcome.user, token: outcome.session.token });
    return c.text(outcome.kind === 'throttled' ? 'Try again later.' : 'Wrong email or password.', outcome.kind === 'throttled' ? 429 : 401);
  });
  return app;
}
