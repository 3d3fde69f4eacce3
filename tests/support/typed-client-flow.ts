/**
 * What an outside developer writes: a client typed by openapi-typescript from /openapi.json
 * (latchkey-api.ts beside this file), called through openapi-fetch. It imports nothing from the
 * project, so tests/node-only/typed-client.test.ts can typecheck it alone, against types generated
 * afresh, under `tsc --strict --noUncheckedIndexedAccess --exactOptionalPropertyTypes`; and
 * tests/typed-client.test.ts runs it against the app on both backends.
 */
import createClient from 'openapi-fetch';
import type { components, paths } from './latchkey-api.ts';

/**
 * A JSON client names the media types it reads: POST /activate and /resend-activation also answer
 * their pages' forms with text/html, which this client never sends, so its types leave HTML out.
 */
type JsonMedia = 'application/json' | 'application/problem+json';

export interface FlowEnvironment {
  /** Sends a request to the API (a fetch bound to the app, or the real one). */
  fetch: (request: Request) => Promise<Response>;
  /** The token of the newest activation link mailed to the address. */
  tokenMailedTo: (email: string) => string;
}

export interface FlowResult {
  registered: components['schemas']['Pending']['status'];
  bodylessActivateStatus: number;
  weakPassword: { status: number; pointers: string[] };
  activated: 'active';
  loggedInAs: string;
  deviceTokenLength: number;
  wrongPassword: { status: number; title: string | undefined };
}

export async function registerActivateLogin(env: FlowEnvironment, email: string, password: string): Promise<FlowResult> {
  const api = createClient<paths, JsonMedia>({ baseUrl: 'https://latchkey.invalid', fetch: env.fetch });

  const weak = await api.POST('/register', { body: { email, password: 'short' } });
  const weakErrors = weak.error?.errors ?? [];

  const registered = await api.POST('/register', { body: { email, password } });
  if (!registered.data) throw new Error(`register answered ${registered.response.status}`);
  const token = env.tokenMailedTo(email);

  // The body is required: a call without one does not compile, and the server answers 415.
  // @ts-expect-error -- `body` is missing
  const bodyless = await api.POST('/activate', {});

  const activated = await api.POST('/activate', { body: { token, password } });
  // No narrowing from `Active | string`: this client reads JSON only.
  if (!activated.data) throw new Error(`activate answered ${activated.response.status}: ${activated.error?.title ?? ''}`);
  const status: 'active' = activated.data.status;

  const loggedIn = await api.POST('/login', { body: { email, password } });
  if (!loggedIn.data) throw new Error(`login answered ${loggedIn.response.status}`);
  // A 202 (an account with an authenticator on) has a challenge instead: this account has none.
  if (!('user' in loggedIn.data)) throw new Error('login asked for a second factor');

  const wrong = await api.POST('/login', { body: { email, password: `${password} but wrong` } });

  return {
    registered: registered.data.status,
    bodylessActivateStatus: bodyless.response.status,
    weakPassword: { status: weak.response.status, pointers: weakErrors.map((e) => e.pointer) },
    activated: status,
    loggedInAs: loggedIn.data.user.email,
    deviceTokenLength: loggedIn.data.device.token.length,
    wrongPassword: { status: wrong.response.status, title: wrong.error?.title },
  };
}
