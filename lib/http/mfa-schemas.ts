/**
 * The second factor's shared schemas and answers (docs/second-factor.md): the `code` field that
 * the changes of an account with TOTP on ask for, and the answer when it is missing or wrong.
 */
import type { AnswerWithBody } from './answers.ts';
import { details } from './problems.ts';
import { text } from './schemas.ts';

/** An authenticator code (six digits) or a recovery code; long enough for either, with spaces or dashes. */
export const SecondFactorCode = text(64).openapi({
  description: 'A six-digit code from the authenticator app, or one of the recovery codes (each works once)',
  example: '123456',
});

/** The same field where only accounts with TOTP on need it. */
export const codeIfTotp = () =>
  SecondFactorCode.optional().openapi({ description: 'Needed when the account has an authenticator turned on: a six-digit code from it, or a recovery code' });

/** With TOTP on, a change that asked for the password asks for a code as well; this is its refusal. */
export const WRONG_CODE: AnswerWithBody<unknown> = {
  status: 401,
  description: 'The account has an authenticator turned on, and `code` is missing, wrong or already used (counted in the login back-off)',
  problem: () => details('wrong-code', 'Wrong or missing code', 'Give a current code from your authenticator app, or an unused recovery code. Nothing was changed.'),
};
