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
