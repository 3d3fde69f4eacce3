/**
 * POST /resend-activation — a fresh link for an address still waiting for activation. Always
 * 202 (or the same page), whatever the address is, so it reveals nothing. The new link carries the
 * password of the newest registration for the address; older links keep working until one is used.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { findAccount, latestRegistration, renewRegistration } from '../../lib/storage/accounts.ts';
import { newLink } from '../../lib/flows/activation.ts';
import { parseEmail } from '../../lib/policy/emails.ts';
import { clientLimitKey } from '../../lib/http/client-address.ts';
import { accepts, bodyKind, createRouter, limitPerClient, problemResponses, respondProblem, sendMail, text, withPages } from '../../lib/http.ts';
import { activationMail, alreadyActiveMail } from '../../lib/mail/mail.ts';
import { resendRefusedPage, resendSentPage } from '../../lib/pages/pages.ts';
import { validationProblem } from '../../lib/http/problems.ts';
import { chargeMail } from '../../lib/storage/throttle.ts';
import { Pending } from './register.ts';

const ResendBody = z.object({ email: text(320).openapi({ example: 'ada@example.com' }) }).strict().openapi('ResendRequest');

const route = createRoute({
  method: 'post',
  path: '/resend-activation',
  summary: 'Ask for a new activation link',
  middleware: [limitPerClient('resend'), accepts('json', 'form')] as const,
  request: {
    body: {
      // Not `required: true`: @hono/zod-openapi would then validate the body as every listed media
      // type at once. A missing body is still refused, by the 415 or 422 documented below.
      content: {
        'application/json': { schema: ResendBody },
        'application/x-www-form-urlencoded': { schema: ResendBody },
      },
    },
  },
  responses: {
    202: {
      description: 'Accepted; a new link was written if the address is waiting for activation. JSON for JSON, a page for a page\'s form',
      content: { 'application/json': { schema: Pending }, 'text/html': { schema: z.string() } },
    },
    // The expired-link page's form gets pages; JSON clients get problem details.
    ...withPages(problemResponses(400, 413, 415, 422, 429, 503), 400, 422, 429, 500, 503),
  },
});

const SENT = {
  status: 'pending' as const,
  message: 'If this address is waiting for activation, a new link is on its way to it.',
};

export const resendActivation = createRouter().openapi(route, async (c) => {
  const { db, config, log, now } = c.var.deps;
  const asPage = bodyKind(c) === 'form';
  const { email } = asPage ? c.req.valid('form') : c.req.valid('json');
  const parsed = parseEmail(email);
  if (!parsed.ok) {
    if (asPage) {
      const p = await resendRefusedPage(email, parsed.detail);
      return c.html(p.body, 422);
    }
    return respondProblem(validationProblem([{ pointer: '/email', detail: parsed.detail }]));
  }
  const key = parsed.email.key;

  // The same lookups, the same two allowance statements and the same guarded insert for every
  // address; only the mail differs. Only a request that would mail is charged (a resend for an
  // unknown address costs nobody's allowance), and one over an allowance gets the same 202.
  const account = await findAccount(db, key);
  const pending = await latestRegistration(db, key);
  const mayMail = await chargeMail(db, config.throttle, key, clientLimitKey(c.var.client), now(), Boolean(account || pending));
  if (!mayMail && (account || pending)) log('throttled', { rule: 'mail', path: c.req.path });
  const link = newLink(config, now());
  const renewed = await renewRegistration(db, key, link);
  if (mayMail && renewed && pending) {
    sendMail(c, activationMail(pending.email, link.url, config.tokenTtlSeconds));
  } else if (mayMail && account) {
    sendMail(c, alreadyActiveMail(account.email));
  }
  log('activation_resent', { outcome: renewed ? 'pending' : account ? 'active' : 'unknown', ...(account ? { accountId: account.id } : {}) });
  if (asPage) {
    const p = await resendSentPage();
    return c.html(p.body, 202);
  }
  return c.json(SENT, 202);
});
