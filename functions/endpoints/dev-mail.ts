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

/**
 * The mailbox this request may see, if any. The links in it are credentials: even in development
 * mode a server listening on a network address (HOST=0.0.0.0) shows them only to this machine.
 */
export function mailboxFor(c: AppContext): Mailbox | undefined {
  const { config, mailbox } = c.var.deps;
  return config.mode === 'development' && isLoopbackAddress(c.var.client) ? mailbox : undefined;
}

export const devMailEndpoint = createRouter().get(MAILBOX_PATH, async function showMailbox(c) {
  const mailbox = mailboxFor(c);
  if (!mailbox) return c.notFound();
  return c.html(await mailboxPage(mailbox.list(), MAILBOX_CAPACITY), 200);
});
