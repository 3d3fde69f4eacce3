import type { OutgoingMail } from '../../lib/mail/transport.ts';

/** One finished mail as the outbox hands it to a transport; `to` and the id vary per test. */
export function outgoingMail(overrides: Partial<OutgoingMail> = {}): OutgoingMail {
  const id = crypto.randomUUID();
  return {
    template: 'activation',
    from: 'Latchkey <no-reply@latchkey.example>',
    to: 'person@example.com',
    subject: 'Activate your account',
    text: 'Open this link to activate your account:\nhttps://latchkey.example/activate?token=abc\n',
    html: '<p>Open <a href="https://latchkey.example/activate?token=abc">this link</a> to activate your account.</p>\n',
    link: 'https://latchkey.example/activate?token=abc',
    messageId: `<${id}@latchkey.example>`,
    headers: { 'Auto-Submitted': 'auto-generated' },
    ...overrides,
  };
}

/** Polls `probe` until it returns something other than undefined; fails after `withinMs`. */
export async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, withinMs = 20_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
