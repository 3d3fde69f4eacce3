/** The request fields that several endpoints share, with the rules every one of them enforces. */
import { z } from '@hono/zod-openapi';
import type { Account } from '../storage/accounts.ts';
import { json, type AnswerWithBody } from './answers.ts';
import { details } from './problems.ts';

/** Text that cannot carry NUL or unpaired surrogates, which some stores and mailers mangle. */
export const text = (max: number) =>
  z
    .string()
    .max(max, { message: `Must be at most ${max} characters.` })
    .refine((s) => !s.includes('\u0000') && s.isWellFormed(), { message: 'Must be valid text without NUL characters.' });

export const emailField = () => text(320).openapi({ example: 'ada@example.com' });

/** An address and a password: the body of both register and login. */
export const Credentials = z
  .object({
    email: emailField(),
    password: text(1024).openapi({ example: 'correct horse battery staple' }),
  })
  .strict()
  .openapi('Credentials');

/** Just an address: the body of the requests that ask for a mail. */
export const AddressOnly = z.object({ email: emailField() }).strict().openapi('ResendRequest');

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

export const userView = (a: Account) => ({
  id: a.id,
  email: a.email,
  createdAt: new Date(a.createdAt).toISOString(),
  activatedAt: new Date(a.activatedAt).toISOString(),
});

export const isoTime = (ms: number) => new Date(ms).toISOString();

/** A password asked again before a change (change-password, delete-account) was not the account's. */
export const WRONG_PASSWORD: AnswerWithBody<unknown> = {
  status: 401,
  description: "The password given is not the account's (counted in the login back-off)",
  problem: () => details('wrong-password', 'Wrong password', "The password is not this account's current password. Nothing was changed."),
};
