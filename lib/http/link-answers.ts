/**
 * The two refusals every mailed link has: not valid (unknown, tampered with, or used up) and
 * expired, each with a page that offers a new link, for activation and reset links alike; and the
 * words for a new password refused behind a link, as field errors and as a page's list.
 */
import type { Page } from '../pages/pages.ts';
import type { Answer } from './answers.ts';
import { details, type FieldError } from './problems.ts';
import type { LinkPageContext } from './routes.ts';

export interface LinkRefusalSpec {
  /** Prefix of the problem types: `link` gives `link-invalid` and `link-expired`. */
  slug: string;
  /** What the link is called in titles: "activation link". */
  name: string;
  invalidDescription: string;
  invalidDetail: string;
  /** Where to ask for a new link (the problem's `resend` member). */
  renewPath: string;
  invalidPage: () => Promise<Page>;
  expiredPage: (email: string) => Promise<Page>;
}

export function linkRefusals(spec: LinkRefusalSpec) {
  const invalid = {
    status: 400,
    description: spec.invalidDescription,
    problem: () => details(`${spec.slug}-invalid`, `The ${spec.name} is not valid`, spec.invalidDetail),
    page: spec.invalidPage,
  } satisfies Answer<unknown, LinkPageContext>;
  const expired = {
    status: 410,
    description: `The ${spec.name} has expired; the page offers a new one`,
    problem: () =>
      details(`${spec.slug}-expired`, `The ${spec.name} has expired`, 'Ask for a new link and use it soon.', {
        resend: { method: 'POST', href: spec.renewPath },
      }),
    page: (o: { email: string }) => spec.expiredPage(o.email),
  } satisfies Answer<{ email: string }, LinkPageContext>;
  return { invalid, expired };
}

/** A new password chosen behind a link and refused: the two typings differ, or the policy says why. */
export type NewPasswordRefusal = { kind: 'confirmation-differs'; email: string } | { kind: 'weak'; email: string; problems: string[] };

/** What to fix, as field errors for JSON clients. */
export function newPasswordErrors(o: NewPasswordRefusal): FieldError[] {
  if (o.kind === 'confirmation-differs') return [{ pointer: '/confirmPassword', detail: 'Must be the same as password.' }];
  return o.problems.map((detail) => ({ pointer: '/password', detail }));
}

/** The same, in the words of the page that asks for the password twice. */
export function newPasswordPageProblems(o: NewPasswordRefusal): string[] {
  return o.kind === 'confirmation-differs' ? ['The two passwords are not the same.'] : o.problems;
}
