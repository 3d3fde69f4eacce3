// The webhook transport against a real HTTP receiver on 127.0.0.1 (tests/support/webhook-receiver.global.ts),
// from both runtimes: in the workerd project the request leaves workerd through its own fetch.
import { describe, expect, inject, it } from 'vitest';
import { MailRefusedError } from '../lib/mail/transport.ts';
import {
  signWebhookBody,
  verifyWebhookSignature,
  webhookSecretProblem,
  webhookTransport,
  webhookUrlProblem,
  type WebhookPayload,
} from '../lib/mail/transports/webhook.ts';
import type { ReceivedWebhook } from './support/webhook-receiver.global.ts';
import { outgoingMail } from './support/outgoing-mail.ts';
import { until } from './support/until.ts';

const receiver = inject('webhookReceiverUrl');
const secret = inject('webhookTestSecret');
const never = new AbortController().signal;

function endpoint(route: string) {
  const key = crypto.randomUUID();
  return { url: `${receiver}/${route}/${key}`, key };
}

async function received(key: string): Promise<ReceivedWebhook[]> {
  return (await fetch(`${receiver}/received/${key}`)).json();
}

describe('the webhook transport', () => {
  it('posts the mail as JSON with a signature the receiver verifies', async () => {
    const { url, key } = endpoint('verify');
    const mail = outgoingMail();
    await webhookTransport({ url, secret }).send(mail, never);

    const [request] = await received(key);
    expect(request?.contentType).toBe('application/json');
    const payload = JSON.parse(request!.body) as WebhookPayload;
    expect(payload).toEqual({
      id: mail.messageId,
      template: 'activation',
      from: mail.from,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      headers: { 'Auto-Submitted': 'auto-generated' },
    });
    expect(request!.signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(await verifyWebhookSignature(secret, request!.signature, request!.body, Math.floor(Date.now() / 1000))).toBe(true);
  });

  it('is refused by the receiver when signed with another secret, and the mail is given up', async () => {
    const { url, key } = endpoint('verify');
    const sent = webhookTransport({ url, secret: 'not the secret the receiver knows, though as long' }).send(outgoingMail(), never);
    await expect(sent).rejects.toBeInstanceOf(MailRefusedError);
    await expect(sent).rejects.toThrow(/refused the mail with HTTP 401/);
    const [request] = await received(key);
    expect(await verifyWebhookSignature(secret, request!.signature, request!.body, Math.floor(Date.now() / 1000))).toBe(false);
  });

  it('is refused by the receiver when the signature is older than the tolerance (a replay)', async () => {
    const { url } = endpoint('verify');
    const tenMinutesAgo = () => Date.now() - 600_000;
    await expect(webhookTransport({ url, secret, now: tenMinutesAgo }).send(outgoingMail(), never)).rejects.toBeInstanceOf(MailRefusedError);
  });

  it.each([500, 503, 408, 429, 302])('keeps the mail for a retry when the receiver answers %i', async (status) => {
    const sent = webhookTransport({ url: endpoint(`status/${status}`).url, secret }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(`answered HTTP ${status}`);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
  });

  it.each([400, 410, 422])('gives the mail up when the receiver answers %i', async (status) => {
    const sent = webhookTransport({ url: endpoint(`status/${status}`).url, secret }).send(outgoingMail(), never);
    await expect(sent).rejects.toBeInstanceOf(MailRefusedError);
  });

  it('gives up on a receiver that does not answer within timeoutMs, with a retriable error', async () => {
    const { url, key } = endpoint('slow');
    const started = Date.now();
    const sent = webhookTransport({ url, secret, timeoutMs: 300 }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/did not answer within 300 ms/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
    // Bounded: the timeout, not some default of the runtime's fetch, ended it.
    expect(Date.now() - started).toBeLessThan(15_000);
    await until(async () => ((await received(key))[0]?.closedByClient ? true : undefined), 'the receiver to see the request closed');
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const sent = webhookTransport({ url: endpoint('slow').url, secret }).send(outgoingMail(), controller.signal);
    controller.abort();
    await expect(sent).rejects.toThrow(/was aborted/);
  });

  it('keeps the mail for a retry when nothing listens, without naming the URL path', async () => {
    const url = `http://127.0.0.1:9/hooks/${'token-in-path'}`;
    const sent = webhookTransport({ url, secret }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/could not be reached/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
    await expect(sent).rejects.not.toThrow(/token-in-path/);
  });
});

describe('verifyWebhookSignature', () => {
  const body = '{"id":"<a@b>"}';
  const t = 1_800_000_000;

  it('takes a signature within the tolerance, either side of now', async () => {
    const header = await signWebhookBody(secret, body, t);
    expect(await verifyWebhookSignature(secret, header, body, t)).toBe(true);
    expect(await verifyWebhookSignature(secret, header, body, t + 300)).toBe(true);
    expect(await verifyWebhookSignature(secret, header, body, t - 300)).toBe(true);
  });

  it('refuses a replay older than the tolerance and a timestamp too far ahead', async () => {
    const header = await signWebhookBody(secret, body, t);
    expect(await verifyWebhookSignature(secret, header, body, t + 301)).toBe(false);
    expect(await verifyWebhookSignature(secret, header, body, t - 301)).toBe(false);
    expect(await verifyWebhookSignature(secret, header, body, t + 3600, 7200)).toBe(true);
  });

  it('refuses forgeries: another secret, another body, a moved timestamp, a malformed header', async () => {
    const header = await signWebhookBody(secret, body, t);
    const mac = header.split('v1=')[1]!;
    expect(await verifyWebhookSignature('another secret', header, body, t)).toBe(false);
    expect(await verifyWebhookSignature(secret, header, body.replace('a@b', 'a@c'), t)).toBe(false);
    expect(await verifyWebhookSignature(secret, `t=${t + 1},v1=${mac}`, body, t)).toBe(false);
    for (const bad of [null, '', `v1=${mac}`, `t=${t}`, `t=${t},v1=${mac.slice(1)}`, `t=x${t},v1=${mac}`, `t=${t},v0=${mac}`]) {
      expect(await verifyWebhookSignature(secret, bad, body, t)).toBe(false);
    }
  });

  it('takes a header with several v1 entries when one matches (secret rotation)', async () => {
    const header = await signWebhookBody(secret, body, t);
    const other = (await signWebhookBody('old secret', body, t)).split(',')[1];
    expect(await verifyWebhookSignature(secret, `${header},${other}`, body, t)).toBe(true);
    expect(await verifyWebhookSignature('old secret', `${header},${other}`, body, t)).toBe(true);
  });
});

describe('the webhook settings', () => {
  it('want https, but to this machine, and never echo the URL', () => {
    expect(webhookUrlProblem('https://relay.example.com/hook?token=t0ken')).toBeUndefined();
    expect(webhookUrlProblem('http://127.0.0.1:8080/hook')).toBeUndefined();
    expect(webhookUrlProblem('http://localhost/hook')).toBeUndefined();
    expect(webhookUrlProblem('http://relay.example.com/hook?token=t0ken')).toMatch(/^MAIL_WEBHOOK_URL must be https:\/\//);
    expect(webhookUrlProblem('ftp://relay.example.com/t0ken')).toMatch(/^MAIL_WEBHOOK_URL must be https:\/\//);
    expect(webhookUrlProblem('relay.example.com/t0ken')).toMatch(/^MAIL_WEBHOOK_URL is not a URL/);
    for (const value of ['http://relay.example.com/hook?token=t0ken', 'ftp://relay.example.com/t0ken', 'relay.example.com/t0ken']) {
      expect(webhookUrlProblem(value)).not.toContain('t0ken');
    }
    expect(() => webhookTransport({ url: 'http://relay.example.com/hook', secret })).toThrow(/^MAIL_WEBHOOK_URL/);
  });

  it('want a secret of 32 characters or more', () => {
    expect(webhookSecretProblem('x'.repeat(32))).toBeUndefined();
    expect(webhookSecretProblem('x'.repeat(31))).toMatch(/^MAIL_WEBHOOK_SECRET/);
    expect(() => webhookTransport({ url: `${receiver}/verify/x`, secret: 'short' })).toThrow(/^MAIL_WEBHOOK_SECRET/);
  });
});
