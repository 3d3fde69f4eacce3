/**
 * The requests that ask for a mail about an address (resend-activation, forgot-password): the body
 * is the address, the answer the same 202 for every well-formed one, or the address refused, each
 * with its page for the page's form. One builder, so each endpoint is its words and its flow.
 */
import type { ResendOutcome, ResendRequest } from '../flows/resend-activation.ts';
import type { ForgotServices } from '../flows/reset-password.ts';
import type { Page } from '../pages/pages.ts';
import type { Endpoint } from '../config/throttle-settings.ts';
import { mailQueueFor } from './after-response.ts';
import type { AnswerTable } from './answers.ts';
import { clientLimitKey } from './client-address.ts';
import { bodyKind } from './media.ts';
import { EDGE, INVALID_FIELDS, respond } from './respond.ts';
import { admissionOf } from './limit-per-client.ts';
import { createRouter } from './router.ts';
import { jsonOrFormPost, openapiRequiringBody, type OperationSpec } from './routes.ts';
import { AddressOnly, pendingAnswer } from './schemas.ts';

/** Both flows answer alike: the same 202 for every well-formed address, or the address refused. */
type MailRequestOutcome = ResendOutcome;

export interface MailRequestSpec<P extends string> extends OperationSpec<P> {
  limit: Endpoint;
  /** What the 202 means, for the document; and the message it carries, the same for every address. */
  accepted: { description: string; message: string };
  sentPage: () => Promise<Page>;
  refusedPage: (email: string, detail: string) => Promise<Page>;
  /** Forgot-password's services are the larger set; resend-activation takes a part of them. */
  flow: (services: ForgotServices, request: ResendRequest, now: number) => Promise<MailRequestOutcome>;
}

export function mailRequestEndpoint<P extends string>(spec: MailRequestSpec<P>) {
  const answers: AnswerTable<MailRequestOutcome> = {
    accepted: { ...pendingAnswer(spec.accepted.description, spec.accepted.message), page: spec.sentPage },
    invalid: { ...INVALID_FIELDS, page: (o) => spec.refusedPage(o.email, o.errors[0]?.detail ?? '') },
    throttled: EDGE.throttled,
  };
  const route = jsonOrFormPost({ ...spec, body: AddressOnly, answers, edges: ['unavailable'], botCheck: true });
  return openapiRequiringBody(createRouter(), route, async function askForMail(c) {
    const { db, config, now } = c.get('deps');
    const { email } = bodyKind(c) === 'form' ? c.req.valid('form') : c.req.valid('json');
    const services = { db, config, mail: mailQueueFor(c), log: c.get('log') };
    const outcome = await spec.flow(services, { email, clientKey: clientLimitKey(c.get('client')), admission: admissionOf(c) }, now());
    return respond(c, answers, outcome, undefined);
  });
}
