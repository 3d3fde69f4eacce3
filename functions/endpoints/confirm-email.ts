/**
 * GET /confirm-email — the page behind the link mailed to a new address: names both addresses,
 * one button, changes nothing (mail scanners open links). POST /confirm-email — the token in, the
 * account moved (lib/flows/confirm-email.ts). The page's form gets pages back; JSON gets JSON.
 */
import { z } from '@hono/zod-openapi';
import { confirmEmail, confirmLinkState, type ConfirmLinkState, type ConfirmOutcome } from '../../lib/flows/confirm-email.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { details } from '../../lib/http/problems.ts';
import { respond, respondEdge } from '../../lib/http/respond.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import type { Throttled } from '../../lib/flows/admission.ts';
import { jsonOrFormPost, linkPageRouter, openapiRequiringBody, type LinkPageContext } from '../../lib/http/routes.ts';
import { text } from '../../lib/http/schemas.ts';
import {
  addressTakenPage,
  confirmEmailPage,
  emailChangedPage,
  expiredEmailLinkPage,
  invalidEmailLinkPage,
} from '../../lib/pages/email-change-pages.ts';

/** The body of confirm-email and undo-email-change: the link's token. */
export const LinkTokenBody = z.object({ token: text(128) }).strict().openapi('LinkTokenRequest');
const Changed = z.object({ status: z.literal('changed') }).openapi('EmailChanged');

const INVALID = {
  status: 400,
  description: 'The link is unknown, tampered with, used, or replaced by a newer change (the same answer)',
  problem: () => details('email-link-invalid', 'The link is not valid', 'Use the whole link from our latest mail; each link works once. Or log in and ask again.'),
  page: invalidEmailLinkPage,
} as const;
const EXPIRED = {
  status: 410,
  description: 'The link has expired; ask again with POST /change-email',
  problem: () =>
    details('email-link-expired', 'The link has expired', 'Log in, ask again and use the new link soon.', {
      resend: { method: 'POST', href: '/change-email' },
    }),
  page: (o: { newEmail: string }) => expiredEmailLinkPage(o.newEmail),
} as const;

const SHOW_ANSWERS: AnswerTable<ConfirmLinkState, LinkPageContext> = {
  usable: {
    status: 200,
    description: 'The page naming both addresses, with one button',
    page: (o, { token }) => confirmEmailPage(o.oldEmail, o.newEmail, token),
  },
  expired: EXPIRED,
  invalid: INVALID,
};

// A refused client is the window's 429 (respondEdge), as the route's other edges are.
const CONFIRM_ANSWERS: AnswerTable<Exclude<ConfirmOutcome, Throttled>, LinkPageContext> = {
  changed: {
    status: 200,
    description:
      "The account uses the new address; its other sessions, device tokens, reset links and other requests have ended, and the old address was mailed an undo link",
    json: json(Changed, () => ({ status: 'changed' as const })),
    page: (o) => emailChangedPage(o.newEmail),
  },
  taken: {
    status: 409,
    description: 'The new address became another account\'s since the request; the account keeps its address',
    problem: () => details('email-taken', 'The address is not free', 'Another account has this address now. Nothing was changed.'),
    page: (o) => addressTakenPage(o.newEmail),
  },
  expired: EXPIRED,
  invalid: INVALID,
};

const showing = linkPageRouter(
  {
    path: '/confirm-email',
    operationId: 'showConfirmEmailPage',
    summary: 'The page behind the link to a new address: names both addresses, changes nothing',
    description: 'For the person who clicked the link in the mail. It changes nothing (mail scanners open links); its form posts to POST /confirm-email.',
    limit: 'reset',
    answers: SHOW_ANSWERS,
  },
  confirmLinkState,
);

const confirmRoute = jsonOrFormPost({
  path: '/confirm-email',
  operationId: 'confirmEmail',
  summary: 'Move the account to the new address with the token of its link',
  description:
    'In one batch: the account takes the new address, every other session and every device token of it ends, its reset ' +
    'links and other pending changes are retired, and the old address gets a notice with an undo link ' +
    '(POST /undo-email-change), which holds the old address for the account meanwhile. The link works once.',
  limit: 'reset',
  body: LinkTokenBody,
  answers: CONFIRM_ANSWERS,
  edges: ['invalid-fields', 'unavailable'],
});

export const confirmEmailEndpoints = openapiRequiringBody(showing, confirmRoute, async function confirmNewEmail(c) {
  const { db, config, now, hooks } = c.get('deps');
  const { token } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
  const outcome = await confirmEmail({ db, config, mail: mailQueueFor(c), log: c.get('log'), hooks }, token, now(), admissionOf(c));
  if (outcome.kind === 'throttled') return respondEdge(c, outcome);
  return respond(c, CONFIRM_ANSWERS, outcome, { token, minLength: config.passwordPolicy.minLength });
});
