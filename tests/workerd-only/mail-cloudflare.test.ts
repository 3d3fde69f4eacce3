// The Cloudflare Email Service transport against the local send_email binding that miniflare runs
// (declared in vitest.config.ts: MAIL_FROM's address and person@example.com allowed). Miniflare keeps
// sent mails only for its local explorer UI, which a test inside workerd cannot reach, so what the
// transport passes is read on the way through: the binding itself still validates and accepts it.
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { MailRefusedError } from '../../lib/mail/transport.ts';
import { cloudflareTransport, describeCloudflareError, senderOf, type SendEmailBinding } from '../../lib/mail/transports/cloudflare.ts';
import { outgoingMail } from '../support/outgoing-mail.ts';

const never = new AbortController().signal;

/** The real binding, with what it was given and what it answered kept for the test. */
function recording(binding: SendEmailBinding) {
  const calls: { message: Parameters<SendEmailBinding['send']>[0]; result?: unknown }[] = [];
  return {
    calls,
    binding: {
      async send(message) {
        const call: (typeof calls)[number] = { message };
        calls.push(call);
        call.result = await binding.send(message);
        return call.result;
      },
    } satisfies SendEmailBinding,
  };
}

describe('the Cloudflare Email Service transport', () => {
  it('hands the binding the structured message, which it accepts', async () => {
    const { binding, calls } = recording(env.EMAIL as unknown as SendEmailBinding);
    const mail = outgoingMail();
    await cloudflareTransport(binding).send(mail, never);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.message).toEqual({
      from: { email: 'no-reply@latchkey.example', name: 'Latchkey' },
      to: 'person@example.com',
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    expect(calls[0]!.result).toMatchObject({ messageId: expect.any(String) });
  });

  it('gives the mail up when the sender is not allowed by the binding', async () => {
    const sent = cloudflareTransport(env.EMAIL as unknown as SendEmailBinding).send(outgoingMail({ from: 'Other <other@latchkey.example>' }), never);
    await expect(sent).rejects.toBeInstanceOf(MailRefusedError);
    await expect(sent).rejects.toThrow(/allowed_sender_addresses/);
  });

  it('gives the mail up when the recipient is not allowed, without quoting the address', async () => {
    const sent = cloudflareTransport(env.EMAIL as unknown as SendEmailBinding).send(outgoingMail({ to: 'stranger@example.org' }), never);
    await expect(sent).rejects.toBeInstanceOf(MailRefusedError);
    await expect(sent).rejects.not.toThrow(/stranger/);
  });

  it("keeps Message-ID and the fields' headers out of the headers the service would refuse", async () => {
    const { binding, calls } = recording(env.EMAIL as unknown as SendEmailBinding);
    await cloudflareTransport(binding).send(outgoingMail({ headers: { 'Auto-Submitted': 'auto-generated', 'Message-ID': '<x@y>', subject: 'x', 'X-Latchkey': '1' } }), never);
    expect(calls[0]!.message.headers).toEqual({ 'Auto-Submitted': 'auto-generated', 'X-Latchkey': '1' });
  });

  it('keeps the mail for a retry on other errors, and when the send is aborted', async () => {
    const failing: SendEmailBinding = { send: async () => Promise.reject(Object.assign(new Error('slow down'), { code: 'E_RATE_LIMIT_EXCEEDED' })) };
    const sent = cloudflareTransport(failing).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow('did not take the mail (E_RATE_LIMIT_EXCEEDED)');
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);

    const controller = new AbortController();
    const hanging = cloudflareTransport({ send: () => new Promise(() => undefined) }).send(outgoingMail(), controller.signal);
    controller.abort();
    await expect(hanging).rejects.toThrow(/aborted/);
  });
});

describe('the Cloudflare error and sender mapping', () => {
  it('refuses for good on the codes that say the mail will never go, retries the rest', () => {
    const withCode = (code: string) => describeCloudflareError(Object.assign(new Error('x'), { code }));
    for (const code of ['E_RECIPIENT_NOT_ALLOWED', 'E_RECIPIENT_SUPPRESSED', 'E_VALIDATION_ERROR', 'E_HEADER_NOT_ALLOWED', 'E_CONTENT_TOO_LARGE']) {
      expect(withCode(code), code).toBeInstanceOf(MailRefusedError);
    }
    for (const code of ['E_RATE_LIMIT_EXCEEDED', 'E_DAILY_LIMIT_EXCEEDED', 'E_INTERNAL_SERVER_ERROR', 'E_SENDER_NOT_VERIFIED', 'E_DELIVERY_FAILED']) {
      expect(withCode(code), code).not.toBeInstanceOf(MailRefusedError);
    }
    expect(describeCloudflareError(new TypeError('network'))).not.toBeInstanceOf(MailRefusedError);
  });

  it('splits `Name <address>` into the service form', () => {
    expect(senderOf('Latchkey <no-reply@latchkey.example>')).toEqual({ email: 'no-reply@latchkey.example', name: 'Latchkey' });
    expect(senderOf('"Latchkey, Inc." <no-reply@latchkey.example>')).toEqual({ email: 'no-reply@latchkey.example', name: 'Latchkey, Inc.' });
    expect(senderOf('<no-reply@latchkey.example>')).toBe('no-reply@latchkey.example');
    expect(senderOf('no-reply@latchkey.example')).toBe('no-reply@latchkey.example');
  });
});
