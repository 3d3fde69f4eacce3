/**
 * GET /dev/mail — the development mailbox (lib/mail/mailbox.ts). It exists only in development mode
 * and only for a client on this machine: anywhere else every method answers the app's plain 404,
 * as for a path that was never routed. Not in the OpenAPI document: it is a development tool, not
 * part of the API.
 */
import { isLoopbackAddress } from '../../lib/policy/ip-addresses.ts';
import type { AppContext } from '../../lib/http/context.ts';
import { createRouter } from '../../lib/http/router.ts';
import { MAILBOX_CAPACITY, type Mailbox } from '../../lib/mail/mailbox.ts';
import { mailboxPage } from '../../lib/pages/mailbox-page.ts';

export const MAILBOX_PATH = '/dev/mail';

/** The node a Forwarded element's `for=` names (RFC 7239): quotes, brackets and a port taken off. */
function forwardedNode(value: string): string {
  const node = value.trim().replace(/^"(.*)"$/, '$1');
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    return node.slice(1, end < 0 ? undefined : end);
  }
  return /^[\d.]+:\d+$/.test(node) ? node.slice(0, node.indexOf(':')) : node;
}

/** Every client address that a proxy's headers name for this request. */
function forwardedClients(c: AppContext): string[] {
  const list = (name: string) => c.req.header(name)?.split(',') ?? [];
  const forwarded = list('forwarded').flatMap((element) =>
    element.split(';').flatMap((pair) => (/^\s*for=/i.test(pair) ? [forwardedNode(pair.slice(pair.indexOf('=') + 1))] : [])),
  );
  return [...list('x-forwarded-for'), ...list('x-real-ip'), ...forwarded];
}

/**
 * The mailbox this request may see, if any. The links in it are credentials: even in development
 * mode a server listening on a network address (HOST=0.0.0.0) shows them only to this machine.
 * A tunnel or reverse proxy on this machine (ngrok, cloudflared, nginx) that TRUSTED_PROXIES does
 * not list connects from loopback for clients anywhere; the forwarding headers it adds give those
 * away, so a request whose headers name any client not on this machine gets no mailbox either.
 */
export function mailboxFor(c: AppContext): Mailbox | undefined {
  const { config, mailbox } = c.get('deps');
  if (config.mode !== 'development' || !isLoopbackAddress(c.get('client'))) return undefined;
  return forwardedClients(c).every(isLoopbackAddress) ? mailbox : undefined;
}

export const devMailEndpoint = createRouter().get(MAILBOX_PATH, async function showMailbox(c) {
  const mailbox = mailboxFor(c);
  if (!mailbox) return c.notFound();
  return c.html(await mailboxPage(mailbox.list(), MAILBOX_CAPACITY), 200);
});
