/**
 * The request fields that several endpoints share, with the rules every one of them enforces, and
 * the words the OpenAPI document uses for them. Where a rule comes from the configuration (the
 * password policy), the schema carries a marker that the document fills in per configuration
 * (lib/http/openapi-document.ts), so the document states the limits the server started with.
 */
import { z } from '@hono/zod-openapi';
import type { Config } from '../config/config.ts';
import { MAX_EMAIL_LENGTH, MAX_LOCAL_LENGTH } from '../policy/emails.ts';
import type { Account } from '../storage/accounts.ts';
import { json, type AnswerWithBody } from './answers.ts';
import { details } from './problems.ts';

/** Code points, as JSON Schema's maxLength and the password policy count them (not UTF-16 units). */
const codePoints = (s: string) => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

/** Text that cannot carry NUL or unpaired surrogates, which some stores and mailers mangle. */
export const text = (max: number, tooLong = `Must be at most ${max} characters.`) =>
  z
    .string()
    .refine((s) => codePoints(s) <= max, { message: tooLong, abort: true })
    .refine((s) => !s.includes('\u0000') && s.isWellFormed(), { message: 'Must be valid text without NUL characters.' })
    .openapi({ maxLength: max });

/** Limits taken from the configuration, by the name a schema's `x-from-config` marker gives. */
export const FROM_CONFIG = {
  'password-policy': (config: Pick<Config, 'passwordPolicy'>) => ({
    minLength: config.passwordPolicy.minLength,
    maxLength: config.passwordPolicy.maxLength,
  }),
} as const;

export type ConfiguredLimit = keyof typeof FROM_CONFIG;

/** The schema with the limits named `limit` filled in from the configuration, in the document only. */
const fromConfig = <S extends z.ZodType>(schema: S, limit: ConfiguredLimit): S => schema.openapi({ 'x-from-config': limit });

export const emailField = () =>
  text(MAX_EMAIL_LENGTH, `An email address may have at most ${MAX_EMAIL_LENGTH} characters.`).openapi({
    description:
      `An email address in the syntax of HTML's email inputs (no quoted local part, no IP address as the domain), ` +
      `at most ${MAX_LOCAL_LENGTH} characters before the @ and ${MAX_EMAIL_LENGTH} in all with the domain in its ASCII (IDNA) ` +
      'form; white space around it is ignored. Addresses that differ only in letter case are the same account.',
    example: 'ada@example.com',
  });

const PASSWORD_RULES =
  'Counted in Unicode code points after NFC normalisation, between minLength and maxLength (the policy this server ' +
  'runs with). Refused as well: a password on the list of common ones, a few characters repeated, a run of ' +
  'consecutive characters, or the address itself.';

/** A password being chosen: the policy applies (lib/policy/password-policy.ts). */
const newPasswordField = (description: string) =>
  fromConfig(text(1024), 'password-policy').openapi({ description: `${description} ${PASSWORD_RULES}`, example: 'correct horse battery staple' });

/** The bot check's token (lib/http/turnstile.ts): read before validation, declared here so a strict body may carry it. */
const turnstileTokenField = text(2048)
  .optional()
  .openapi({ description: 'The token of a solved Cloudflare Turnstile widget. Required when the server has TURNSTILE_SITE_KEY set (GET / shows the widget); ignored otherwise.' });

/** The body of register: an address and a password the policy must accept. */
export const RegisterRequest = z
  .object({ email: emailField(), password: newPasswordField('The password to choose.'), turnstileToken: turnstileTokenField })
  .strict()
  .openapi('RegisterRequest');

/** The body of login: an address and a password, which is tried as it is (no policy). */
export const LoginRequest = z
  .object({
    email: emailField(),
    password: text(1024).openapi({
      description: 'The account\'s password, tried as sent: no policy applies at login, so a password chosen under an older policy still works.',
      example: 'correct horse battery staple',
    }),
    turnstileToken: turnstileTokenField,
  })
  .strict()
  .openapi('LoginRequest');

/** Just an address: the body of the requests that ask for a mail. */
export const AddressOnly = z
  .object({
    email: emailField(),
    turnstileToken: turnstileTokenField,
    'cf-turnstile-response': text(2048).optional().openapi({ description: 'The same token as the Turnstile widget names it in a page\'s form.' }),
  })
  .strict()
  .openapi('ResendRequest');

export const Pending = z.object({ status: z.literal('pending'), message: z.string() }).openapi('Pending');

/** 202 with a message that reads the same whatever the address is: the answer of every mail request. */
export function pendingAnswer(description: string, message: string): AnswerWithBody<unknown, unknown> {
  return { status: 202, description, json: json(Pending, () => ({ status: 'pending' as const, message })) };
}

export const User = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    createdAt: z.string().datetime(),
    activatedAt: z.string().datetime(),
  })
  .openapi('User');

export const userView = (a: Pick<Account, 'id' | 'email' | 'createdAt' | 'activatedAt'>) => ({
  id: a.id,
  email: a.email,
  createdAt: isoTime(a.createdAt),
  activatedAt: isoTime(a.activatedAt),
});

/**
 * A time as ISO 8601. The times an answer shows (when an account or session was made, when a
 * session ends) are the same request after request, and V8 takes about 0.9 µs to format one:
 * GET /session shows four. The last few formatted are remembered.
 */
export function isoTime(ms: number): string {
  let text = FORMATTED.get(ms);
  if (text === undefined) {
    text = new Date(ms).toISOString();
    if (FORMATTED.size >= REMEMBERED_TIMES) FORMATTED.clear();
    FORMATTED.set(ms, text);
  }
  return text;
}

const FORMATTED = new Map<number, string>();
const REMEMBERED_TIMES = 1024;

/** A session as GET /session shows it, and as a host's route behind requireSession() finds it. */
export const sessionView = (s: { id: string; createdAt: number; expiresAt: number; mfa: number }) => ({
  id: s.id,
  createdAt: isoTime(s.createdAt),
  expiresAt: isoTime(s.expiresAt),
  /** Whether the login gave a second factor as well as the password (docs/second-factor.md). */
  mfa: s.mfa === 1,
});

/** A password asked again before a change (change-password, delete-account) was not the account's. */
export const WRONG_PASSWORD: AnswerWithBody<unknown> = {
  status: 401,
  description: "The password given is not the account's (counted in the login back-off)",
  problem: () => details('wrong-password', 'Wrong password', "The password is not this account's current password. Nothing was changed."),
};
