// Every flow that mails, through a real transport on both backends (issue 22): the webhook
// transport to a real HTTP receiver on 127.0.0.1 that checks the signature. The link that
// arrives works; the text and HTML parts carry the same link; no event carries a link or a token.
// (SMTP through `npm start`: tests/node-only/mail-smtp-server.test.ts; Cloudflare's binding in
// workerd: tests/workerd-only/mail-cloudflare-flows.test.ts.)
import { describe, expect, inject, it } from 'vitest';
import { backend } from '#backend';
import { webhookTransport, type WebhookPayload } from '../lib/mail/transports/webhook.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, tokenFromLink, type Harness } from './support/harness.ts';

const receiver = inject('webhookReceiverUrl');
const secret = inject('webhookTestSecret');

const THIRD_PASSWORD = 'seven quiet otters under the bridge';

async function viaWebhook(): Promise<{ h: Harness; received: () => Promise<WebhookPayload[]> }> {
  const h = await createHarness({ APP_NAME: 'Acme Accounts' });
  const key = crypto.randomUUID();
  // /verify answers 200 only to a body whose Latchkey-Signature verifies with the shared secret.
  h.deps.transport = webhookTransport({ url: `${receiver}/verify/${key}`, secret });
  const received = async () => {
    const res = await fetch(`${receiver}/received/${key}`);
    return ((await res.json()) as Array<{ body: string }>).map((r) => JSON.parse(r.body) as WebhookPayload);
  };
  return { h, received };
}

/** The one link both parts of a mail carry, checked to be the same in each. */
function linkOf(mail: WebhookPayload): string {
  const inText = [...mail.text.matchAll(/https:\/\/accounts\.example\.test\/\S+/g)].map((m) => m[0]);
  const inHtml = [...mail.html.matchAll(/href="(https:\/\/accounts\.example\.test\/[^"]+)"/g)].map((m) => m[1]!);
  expect(new Set(inText).size, mail.template).toBe(1);
  expect(new Set(inHtml), mail.template).toEqual(new Set(inText));
  return inText[0]!;
}

describe(`every flow that mails, through the webhook transport (${backend.name})`, () => {
  it('register, activate, resend, forgot, reset, change the password and delete: each mail arrives signed, and each link works', async () => {
    const { h, received } = await viaWebhook();
    const email = 'ada@example.com';
    const templates = async () => (await received()).map((m) => m.template);

    expect((await h.post('/register', { email, password: GOOD_PASSWORD })).status).toBe(202);
    expect((await h.post('/resend-activation', { email })).status).toBe(202);
    const [first, second] = await received();
    expect([first?.template, second?.template]).toEqual(['activation', 'activation']);
    expect(first).toMatchObject({ to: email, subject: 'Activate your account — Acme Accounts', headers: { 'Auto-Submitted': 'auto-generated' } });
    expect(first!.from).toMatch(/@accounts\.example\.test>?$/);
    expect((await h.post('/activate', { token: tokenFromLink(linkOf(second!)), password: GOOD_PASSWORD })).status).toBe(200);

    expect((await h.post('/register', { email, password: OTHER_PASSWORD })).status).toBe(202);
    expect((await h.post('/resend-activation', { email })).status).toBe(202);
    expect((await templates()).slice(2)).toEqual(['already-registered', 'already-active']);

    expect((await h.post('/forgot-password', { email })).status).toBe(202);
    const reset = (await received()).at(-1)!;
    expect(reset.template).toBe('password-reset');
    expect((await h.post('/reset-password', { token: tokenFromLink(linkOf(reset)), password: OTHER_PASSWORD })).status).toBe(200);
    expect((await templates()).at(-1)).toBe('password-changed');

    const session = await h.logIn(email, OTHER_PASSWORD);
    expect((await h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: THIRD_PASSWORD })).status).toBe(200);
    expect((await h.bearer('POST', '/delete-account', session, { password: THIRD_PASSWORD })).status).toBe(204);
    expect((await templates()).slice(-2)).toEqual(['password-changed', 'account-deleted']);

    // Every mail was accepted (the receiver answers 200 only to a good signature): none waits.
    expect(await h.db.prepare('SELECT count(*) AS n FROM mail_outbox').first<{ n: number }>()).toEqual({ n: 0 });
    const sent = h.events.filter((e) => e.event === 'mail');
    expect(sent).toHaveLength(8);
    // The template, the recipient's domain and the outbox row: never the address, the link or the text.
    for (const event of sent) expect(Object.keys(event).sort()).toEqual(['client', 'domain', 'event', 'outbox', 'path', 'template', 'transport']);
    const events = JSON.stringify(h.events);
    for (const mail of await received()) {
      if (mail.template === 'activation' || mail.template === 'password-reset') expect(events).not.toContain(tokenFromLink(linkOf(mail)));
    }
    expect(events).not.toMatch(/token=|\/activate\?|\/reset-password\?/);
  });
});
