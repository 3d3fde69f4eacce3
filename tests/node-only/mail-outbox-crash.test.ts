// The outbox through `npm start` and a real SMTP server on 127.0.0.1 (issue 22): twenty
// registrations acknowledged while the SMTP server is down, the server killed with SIGKILL right
// after, restarted with SMTP up: twenty mails arrive, one each, with no new request, and every
// link works. Then a reset through SMTP, whose link works too. No event line carries a link.
import { readFileSync, statSync } from 'node:fs';
import { journalPathOf } from '../../lib/storage/sqljs/files.ts';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { dataKeyPathOf } from '../../lib/storage/sqljs/data-key-file.ts';
import { until } from '../support/until.ts';
import { freePort } from '../../scripts/support/server-process.ts';
import { serversForEachTest } from '../support/servers-per-test.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'seven quiet otters under the bridge';
const { npmStart, stop, databasePath } = serversForEachTest();
const smtpServers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(smtpServers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A plain SMTP relay on 127.0.0.1:port (loopback, where the transport allows plain SMTP) that keeps what it is sent. */
async function smtpRelay(port: number): Promise<string[]> {
  const arrivals: string[] = [];
  const server = new SMTPServer({
    logger: false,
    closeTimeout: 100,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        arrivals.push(Buffer.concat(chunks).toString('utf8'));
        callback();
      });
    },
  });
  smtpServers.push(server);
  // A connection the client closes hard (a server killed mid-session, or the reply to QUIT still
  // on its way) is an 'error' event here; unheard, it would end the test process. What arrived counts.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  expect((server.server.address() as AddressInfo).port).toBe(port);
  return arrivals;
}

/** The link in a raw message's text part (quoted-printable undone). */
function linkIn(raw: string): { to: string; link: string } {
  const to = /^To: (.+)$/m.exec(raw)![1]!.trim();
  const decoded = raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  const links = [...decoded.matchAll(/https:\/\/accounts\.example\.test\/[a-z-]+\?token=[\w-]{43}/g)].map((m) => m[0]);
  expect(new Set(links).size, 'one link, the same in the text and the HTML part').toBe(1);
  return { to, link: links[0]! };
}

const post = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

describe('the outbox across a SIGKILL, with SMTP down then up (npm start)', () => {
  it('20 acknowledged registrations while SMTP is down: after a kill -9 and a restart, 20 mails, one each, and every link works', async () => {
    const smtpPort = await freePort();
    const env = {
      DATABASE_PATH: databasePath('latchkey-outbox-crash-'),
      PUBLIC_URL: 'https://accounts.example.test',
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      MAIL_FROM: 'Latchkey <no-reply@accounts.example.test>',
      MAIL_RETRY_SECONDS: '1',
      MAIL_TIMEOUT_MS: '2000',
      LIMIT_REGISTER_PER_CLIENT: 'off',
    };
    const first = await npmStart(env);
    const people = Array.from({ length: 20 }, (_, i) => `person${i}@example.com`);
    const answers = await Promise.all(people.map((email) => post(first.url, '/register', { email, password: PASSWORD })));
    expect(answers.map((r) => r.status)).toEqual(people.map(() => 202));
    await stop(first, 'SIGKILL');
    // The key that sealed them was made beside the database, readable by its owner alone.
    expect(statSync(dataKeyPathOf(env.DATABASE_PATH)).mode & 0o777).toBe(0o600);

    const arrivals = await smtpRelay(smtpPort);
    const second = await npmStart(env);
    await until(() => (arrivals.length >= 20 ? arrivals : undefined), '20 mails after the restart', 30_000);
    const mails = arrivals.map(linkIn);
    expect(mails.map((m) => m.to).sort()).toEqual([...people].sort());
    // The files on disk (the database and its journal, which held the twenty queued mails across
    // the kill) never held a link: the mails were sealed.
    const onDisk = [readFileSync(env.DATABASE_PATH), readFileSync(journalPathOf(env.DATABASE_PATH))].map((b) => b.toString('latin1')).join('');
    for (const { link } of mails) expect(onDisk).not.toContain(new URL(link).searchParams.get('token'));
    expect(onDisk).not.toContain('activate?token=');
    for (const { link } of mails) {
      const token = new URL(link).searchParams.get('token');
      expect((await post(second.url, '/activate', { token, password: PASSWORD })).status).toBe(200);
    }
    await second.waitForLine((l) => l.event === 'mail' && l.template === 'activation');
    expect(second.lines.filter((l) => l.event === 'mail')).toHaveLength(20);

    // A reset through SMTP: its link works, and it is the last mail's.
    expect((await post(second.url, '/forgot-password', { email: people[0] })).status).toBe(202);
    await until(() => (arrivals.length >= 21 ? true : undefined), 'the reset mail');
    const reset = linkIn(arrivals[20]!);
    expect(reset.to).toBe(people[0]);
    const token = new URL(reset.link).searchParams.get('token');
    expect((await post(second.url, '/reset-password', { token, password: NEW_PASSWORD })).status).toBe(200);
    expect((await post(second.url, '/login', { email: people[0], password: NEW_PASSWORD })).status).toBe(200);

    const log = JSON.stringify([...first.lines, ...second.lines]);
    expect(log).not.toMatch(/token=|\/activate\?|\/reset-password\?/);
    expect(second.lines.find((l) => l.event === 'server_started')).toMatchObject({ mailTransport: 'smtp' });
  });
});

describe('the webhook transport through npm start', () => {
  it('a registration\'s mail reaches a receiver that checks its signature, and its link activates', async () => {
    const key = crypto.randomUUID();
    const server = await npmStart({
      DATABASE_PATH: databasePath('latchkey-webhook-'),
      PUBLIC_URL: 'https://accounts.example.test',
      MAIL_TRANSPORT: 'webhook',
      MAIL_FROM: 'Latchkey <no-reply@accounts.example.test>',
      // The receiver answers 200 only to a body whose Latchkey-Signature verifies with this secret.
      MAIL_WEBHOOK_URL: `${inject('webhookReceiverUrl')}/verify/${key}`,
      MAIL_WEBHOOK_SECRET: inject('webhookTestSecret'),
    });
    expect((await post(server.url, '/register', { email: 'hook@example.com', password: PASSWORD })).status).toBe(202);
    await server.waitForLine((l) => l.event === 'mail' && l.transport === 'webhook');
    const received = (await (await fetch(`${inject('webhookReceiverUrl')}/received/${key}`)).json()) as Array<{ body: string }>;
    expect(received).toHaveLength(1);
    const mail = JSON.parse(received[0]!.body) as { to: string; text: string };
    expect(mail.to).toBe('hook@example.com');
    const link = /https:\/\/accounts\.example\.test\/activate\?token=[\w-]{43}/.exec(mail.text)![0];
    expect((await post(server.url, '/activate', { token: new URL(link).searchParams.get('token'), password: PASSWORD })).status).toBe(200);
    expect(JSON.stringify(server.lines)).not.toMatch(/token=/);
  });
});
