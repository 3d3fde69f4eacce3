/**
 * GET /dev/mail — the development mailbox (lib/mail/mailbox.ts). It exists only in development mode
 * and only for a client on this machine: anywhere else every method answers the app's plain 404,
 * as for a path that was never routed. Not in the OpenAPI document: it is a development tool, not
 * part of the API.
 */
import { isLoopbackAddress } from '../../lib/policy/ip-addresses.ts';
import type { AppContext } from '../../lib/http/context.ts';
import { createRouter } from '../../lib/http/router.ts';
import { offersPages } from '../../lib/http/media.ts';
import { respondEdge } from '../../lib/http/respond.ts';
import { MAILBOX_CAPACITY, type Mailbox } from '../../lib/mail/mailbox.ts';
import { mailboxPage } from '../../lib/pages/mailbox-page.ts';

export const MAILBOX_PATH = '/dev/mail';

/**
 * Headers by which a proxy, tunnel or CDN in front of this server names the client it relays, or
 * says that it is there. Any one of them means the request came through a relay, and a relay's
 * word for where its client is cannot be checked (issue 23 §3c).
 */
const RELAY_HEADERS = new Set([
  'forwarded',
  'via',
  'x-real-ip',
  'true-client-ip',
  'x-client-ip',
  'fastly-client-ip',
  'x-cluster-client-ip',
  'client-ip',
  'cf-connecting-ipv6',
  'x-original-forwarded-for',
]);

/**
 * On Workers (and under wrangler dev, npm run dev:edge) CF-Connecting-IP is how the runtime says who
 * the client is (lib/http/client-address.ts), so there it is no relay's mark; on Node only a relay
 * (cloudflared, say) sets it.
 */
const ON_WORKERS = (globalThis as { navigator?: { userAgent?: string } }).navigator?.userAgent === 'Cloudflare-Workers';

function relayed(headers: Headers): boolean {
  for (const [name] of headers) {
    if (name.startsWith('x-forwarded-') || RELAY_HEADERS.has(name)) return true;
    if (name === 'cf-connecting-ip' && !ON_WORKERS) return true;
  }
  return false;
}

/**
 * The mailbox this request may see, if any. The links in it are credentials: even in development
 * mode a server listening on a network address (HOST=0.0.0.0) shows them only to this machine.
 * A tunnel or reverse proxy on this machine (ngrok, cloudflared, nginx) connects from loopback for
 * clients anywhere, listed in TRUSTED_PROXIES or not; the headers it adds give it away, so a
 * request with any forwarding header gets no mailbox, whatever address the header names. A plain
 * port forward adds none and cannot be told from a local browser: the README says not to forward
 * a development server.
 */
export function mailboxFor(c: AppContext): Mailbox | undefined {
  const { config, mailbox } = c.get('deps');
  if (config.mode !== 'development' || !isLoopbackAddress(c.get('client'))) return undefined;
  return relayed(c.req.raw.headers) ? undefined : mailbox;
}

export const devMailEndpoint = createRouter().get(MAILBOX_PATH, offersPages('always'), async function showMailbox(c) {
  const mailbox = mailboxFor(c);
  // The app's own 404, as for any path it does not serve (Hono's notFound would be a host's when mounted).
  if (!mailbox) return respondEdge(c, { kind: 'not-found' });
  return c.html(await mailboxPage(mailbox.list(), MAILBOX_CAPACITY), 200);
});
