/**
 * GET /undo-email-change — the page behind the link mailed to the old address after a change:
 * names both addresses, one button, changes nothing. POST /undo-email-change — the token in, the
 * old address back, every session ended, a reset link mailed (lib/flows/confirm-email.ts).
 */
import { z } from '@hono/zod-openapi';
import { undoEmailChange, undoLinkState, type UndoLinkState, type UndoOutcome } from '../../lib/flows/confirm-email.ts';
import { mailQueueFor } from '../../lib/http/after-response.ts';
import { json, type AnswerTable } from '../../lib/http/answers.ts';
import { bodyKind } from '../../lib/http/media.ts';
import { details } from '../../lib/http/problems.ts';
import { respond, respondEdge } from '../../lib/http/respond.ts';
import { admissionOf } from '../../lib/http/limit-per-client.ts';
import type { Throttled } from '../../lib/flows/admission.ts';
import { jsonOrFormPost, linkPageRouter, openapiRequiringBody, type LinkPageContext } from '../../lib/http/routes.ts';
import { expiredUndoLinkPage, invalidUndoLinkPage, restoredPage, undoEmailPage } from '../../lib/pages/email-change-pages.ts';
import { LinkTokenBody } from './confirm-email.ts';

const Restored = z.object({ status: z.literal('restored') }).openapi('EmailRestored');

const INVALID = {
  status: 400,
  description: 'The undo link is unknown, tampered with or used (the same answer)',
  problem: () => details('undo-link-invalid', 'The undo link is not valid', 'Use the whole link from our mail; it works once.'),
  page: invalidUndoLinkPage,
} as const;
const EXPIRED = {
  status: 410,
  description: 'The time to undo the change has passed; the old address is no longer held for the account',
  problem: () => details('undo-link-expired', 'The undo link has expired', 'The time to undo this change has passed.'),
  page: (o: { oldEmail: string }) => expiredUndoLinkPage(o.oldEmail),
} as const;

const SHOW_ANSWERS: AnswerTable<UndoLinkState, LinkPageContext> = {
  usable: {
    status: 200,
    description: 'The page naming both addresses, with one button',
    page: (o, { token }) => undoEmailPage(o.oldEmail, o.newEmail, token),
  },
  expired: EXPIRED,
  invalid: INVALID,
};

// A refused client is the window's 429 (respondEdge), as the route's other edges are.
const UNDO_ANSWERS: AnswerTable<Exclude<UndoOutcome, Throttled>, LinkPageContext> = {
  restored: {
    status: 200,
    description:
      'The account has its old address again; every session and device token has ended, every other change is retired, ' +
      'and a link to choose a new password was mailed to the old address (the page says to use it)',
    json: json(Restored, () => ({ status: 'restored' as const })),
    page: (o) => restoredPage(o.oldEmail),
  },
  expired: EXPIRED,
  invalid: INVALID,
};

const showing = linkPageRouter(
  {
    path: '/undo-email-change',
    operationId: 'showUndoEmailChangePage',
    summary: 'The page behind the undo link of a change of address: changes nothing',
    description: 'For the owner of the old address. It changes nothing (mail scanners open links); its form posts to POST /undo-email-change.',
    limit: 'reset',
    answers: SHOW_ANSWERS,
  },
  undoLinkState,
);

const undoRoute = jsonOrFormPost({
  path: '/undo-email-change',
  operationId: 'undoEmailChange',
  summary: 'Give a changed account its old address back with the token of the undo link',
  description:
    'In one batch: the account takes its old address back, every session and device token of it ends, every other ' +
    'change and reset link is retired, and a fresh reset link is mailed to the old address: whoever moved the account ' +
    'knew its password. The link works once.',
  limit: 'reset',
  body: LinkTokenBody,
  answers: UNDO_ANSWERS,
  edges: ['invalid-fields', 'unavailable'],
});

export const undoEmailChangeEndpoints = openapiRequiringBody(showing, undoRoute, async function undoChangeOfAddress(c) {
  const { db, config, now, hooks } = c.get('deps');
  const { token } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
  const outcome = await undoEmailChange({ db, config, mail: mailQueueFor(c), log: c.get('log'), hooks }, token, now(), admissionOf(c));
  if (outcome.kind === 'throttled') return respondEdge(c, outcome);
  return respond(c, UNDO_ANSWERS, outcome, { token, minLength: config.passwordPolicy.minLength });
});
