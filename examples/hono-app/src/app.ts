import { Hono } from 'hono';
import { createLatchkey, type MailTransport } from 'latchkey';
import { openSqlJsDatabase } from 'latchkey/node';

export interface AppOptions {
  /** Where the app is reached; Latchkey's links (activation, reset) point under /auth there. */
  origin: string;
  /** Your mailer; unset, mails are written to the log. */
  transport?: MailTransport;
}

export async function createApp({ origin, transport }: AppOptions) {
  const latchkey = createLatchkey({
    database: await openSqlJsDatabase(), // in memory; { path: 'data/accounts.sqlite' } keeps it
    publicUrl: `${origin}/auth`,
    ...(transport ? { transport } : {}),
  });

  const app = new Hono();
  // Register, activate, login, logout, sessions, password reset: Latchkey's own endpoints.
  app.route('/auth', latchkey.app);
  // Your routes: the session's token as a bearer token, or in the cookie your pages set.
  app.get('/api/me', latchkey.requireSession({ cookie: '__Host-session' }), (c) => {
    return c.json({ user: c.var.user, session: c.var.session });
  });
  return app;
}
