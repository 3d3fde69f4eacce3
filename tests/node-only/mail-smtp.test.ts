// The SMTP transport against real SMTP servers (the smtp-server package) on 127.0.0.1, with a
// CA and a certificate for localhost/127.0.0.1 made by openssl for this run. 127.0.0.1 is loopback,
// where the transport allows plain SMTP; `?tls=required` takes that back, which is how the
// STARTTLS path is tested for real here. The loopback rule itself is a pure function, tested below.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailRefusedError } from '../../lib/mail/transport.ts';
import { isLoopbackHost, parseSmtpUrl, smtpTransport, smtpUrlProblem } from '../../lib/mail/transports/smtp.ts';
import { outgoingMail } from '../support/outgoing-mail.ts';
import { until } from '../support/until.ts';

const USER = 'latchkey@relay.test';
// Characters that must be %-escaped in a URL, to show the transport decodes them.
const PASSWORD = 'pa:ss/w@rd%-secret';
const credentials = `${encodeURIComponent(USER)}:${encodeURIComponent(PASSWORD)}`;
const never = new AbortController().signal;

interface Arrival {
  raw: string;
  session: SMTPServerSession;
}
interface TestServer {
  port: number;
  arrivals: Arrival[];
  logins: { method: string; username: string }[];
  connections: number;
}

let certs: { ca: string; key: string; cert: string };
const servers: SMTPServer[] = [];
const held: (() => void)[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-smtp-'));
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=Latchkey test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  openssl('req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost');
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'leaf.ext');
  certs = { ca: readFileSync(join(dir, 'ca.pem'), 'utf8'), key: readFileSync(join(dir, 'leaf.key'), 'utf8'), cert: readFileSync(join(dir, 'leaf.pem'), 'utf8') };
  rmSync(dir, { recursive: true, force: true });
});

afterAll(async () => {
  for (const release of held) release();
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

async function startServer(options: SMTPServerOptions & { tls?: boolean } = {}): Promise<TestServer> {
  const state: TestServer = { port: 0, arrivals: [], logins: [], connections: 0 };
  const { tls, ...rest } = options;
  const server = new SMTPServer({
    logger: false,
    closeTimeout: 100,
    authMethods: ['PLAIN', 'LOGIN'],
    ...(tls || rest.secure ? { key: certs.key, cert: certs.cert } : { disabledCommands: ['STARTTLS'], allowInsecureAuth: true }),
    onAuth(auth, _session, callback) {
      state.logins.push({ method: auth.method, username: auth.username ?? '' });
      if (auth.username === USER && auth.password === PASSWORD) callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        state.arrivals.push({ raw: Buffer.concat(chunks).toString('utf8'), session: structuredClone({ ...session }) });
        callback();
      });
    },
    ...rest,
    onConnect(session, callback) {
      state.connections++;
      if (rest.onConnect) rest.onConnect(session, callback);
      else callback();
    },
  });
  // Failed TLS handshakes are emitted as 'error' events; the tests look at what the client saw.
  server.on('error', () => undefined);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.server.address() as AddressInfo).port;
  return state;
}

/** The message's header block, unfolded, as name (lower case) -> value. */
function headersOf(raw: string): Map<string, string> {
  const block = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  return new Map(block.split('\r\n').map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
}

describe('the SMTP transport on a loopback relay (plain SMTP allowed)', () => {
  it.each(['PLAIN', 'LOGIN'])('logs in with AUTH %s and delivers a text+HTML mail with its headers', async (method) => {
    const server = await startServer({ authMethods: [method] });
    const mail = outgoingMail();
    const transport = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}` });
    await transport.send(mail, never);
    await transport.close?.();

    expect(server.logins).toEqual([{ method, username: USER }]);
    const [arrival] = server.arrivals;
    expect(arrival?.session.secure).toBe(false);
    expect(arrival?.session.envelope.mailFrom && arrival.session.envelope.mailFrom.address).toBe('no-reply@latchkey.example');
    expect(arrival?.session.envelope.rcptTo.map((r) => r.address)).toEqual(['person@example.com']);
    const headers = headersOf(arrival!.raw);
    expect(headers.get('from')).toBe('Latchkey <no-reply@latchkey.example>');
    expect(headers.get('to')).toBe('person@example.com');
    expect(headers.get('subject')).toBe('Activate your account');
    expect(headers.get('message-id')).toBe(mail.messageId);
    expect(headers.get('auto-submitted')).toBe('auto-generated');
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative;/);
    const decoded = arrival!.raw.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    expect(decoded).toMatch(/Content-Type: text\/plain[\s\S]*Open this link to activate your account:[\s\S]*Content-Type: text\/html[\s\S]*<a href="https:\/\/latchkey.example\/activate\?token=abc">/);
  });

  it("takes a loopback relay's STARTTLS even with a certificate nobody vouches for (a local snakeoil)", async () => {
    const server = await startServer({ tls: true });
    await smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}` }).send(outgoingMail(), never);
    expect(server.arrivals[0]?.session.secure).toBe(true);
  });

  it('keeps the mail for a retry when the password is wrong, without naming the password', async () => {
    const server = await startServer();
    const wrong = 'wrong-password-42';
    const sent = smtpTransport({ url: `smtp://${encodeURIComponent(USER)}:${wrong}@127.0.0.1:${server.port}` }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/refused the login 535/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
    const message = await sent.catch((error: Error) => `${error.message} ${error.stack}`);
    expect(message).not.toContain(wrong);
    expect(message).not.toContain(PASSWORD);
    expect(server.arrivals).toEqual([]);
  });

  it('gives the mail up when the server refuses it with a 5xx at RCPT or at DATA', async () => {
    const refuse = (code: number) => Object.assign(new Error('5.1.1 No such user here'), { responseCode: code });
    const atRcpt = await startServer({ onRcptTo: (_a, _s, callback) => callback(refuse(550)) });
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${atRcpt.port}` }).send(outgoingMail(), never);
    await expect(sent).rejects.toBeInstanceOf(MailRefusedError);
    await expect(sent).rejects.toThrow(/refused the mail at RCPT with 550 5\.1\.1/);

    const atData = await startServer({ onData: (stream, _s, callback) => stream.on('end', () => callback(refuse(554))).resume() });
    await expect(smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${atData.port}` }).send(outgoingMail(), never)).rejects.toBeInstanceOf(MailRefusedError);
  });

  it('keeps the mail for a retry when the server refuses the session rather than the mail (554 greeting)', async () => {
    const server = await startServer({ onConnect: (_s, callback) => callback(Object.assign(new Error('No service for you'), { responseCode: 554 })) });
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}` }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/answered 554/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
  });

  it('keeps the mail for a retry when the server answers a 4xx', async () => {
    const server = await startServer({ onRcptTo: (_a, _s, callback) => callback(Object.assign(new Error('Try later'), { responseCode: 451 })) });
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}` }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/answered 451 to RCPT; will retry/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
  });

  it('gives up on a server that does not greet within timeoutMs, with a retriable error', async () => {
    const server = await startServer({ onConnect: (_session, callback) => void held.push(() => callback()) });
    const started = Date.now();
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}`, timeoutMs: 400 }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/did not (answer|take the mail) within 400 ms/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
    await until(() => (server.connections === 1 ? true : undefined), 'the server to see the connection');
    // Bounded by the transport's own timeout, far below nodemailer's defaults (30 s and more).
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('reports a refused connection when nothing listens on the port', async () => {
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${port}` }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(`SMTP server 127.0.0.1:${port} refused the connection`);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
  });
});

describe('the SMTP transport with TLS required', () => {
  it('upgrades with STARTTLS, trusting the private CA, before it logs in', async () => {
    const server = await startServer({ tls: true });
    await smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}?tls=required`, caPem: certs.ca }).send(outgoingMail(), never);
    expect(server.arrivals).toHaveLength(1);
    expect(server.arrivals[0]?.session.secure).toBe(true);
    expect(server.logins).toEqual([{ method: 'PLAIN', username: USER }]);
  });

  it('fails with a TLS error, and never logs in, when the certificate is not trusted', async () => {
    const server = await startServer({ tls: true });
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}?tls=required` }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/TLS failed \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    await expect(sent).rejects.not.toBeInstanceOf(MailRefusedError);
    expect(server.logins).toEqual([]);
    expect(server.arrivals).toEqual([]);
  });

  it('fails with a TLS error, and never sends the password in plain, when the server offers no STARTTLS', async () => {
    const server = await startServer();
    const sent = smtpTransport({ url: `smtp://${credentials}@127.0.0.1:${server.port}?tls=required`, caPem: certs.ca }).send(outgoingMail(), never);
    await expect(sent).rejects.toThrow(/TLS failed: the server refused STARTTLS with 5\d\d/);
    expect(server.logins).toEqual([]);
  });

  it('speaks TLS from the first byte with smtps://', async () => {
    const server = await startServer({ secure: true });
    await smtpTransport({ url: `smtps://${credentials}@127.0.0.1:${server.port}`, caPem: certs.ca }).send(outgoingMail(), never);
    expect(server.arrivals[0]?.session.secure).toBe(true);
    const untrusted = smtpTransport({ url: `smtps://${credentials}@127.0.0.1:${server.port}` }).send(outgoingMail(), never);
    await expect(untrusted).rejects.toThrow(/TLS failed/);
    expect(server.arrivals).toHaveLength(1);
  });
});

describe('SMTP_URL', () => {
  it('allows plain SMTP on loopback hosts only', () => {
    for (const host of ['localhost', 'LOCALHOST', 'localhost.', '127.0.0.1', '127.3.2.1', '::1', '[::1]']) expect(isLoopbackHost(host), host).toBe(true);
    for (const host of ['smtp.example.com', 'localhost.example.com', '10.0.0.1', '128.0.0.1', '::2', '127.0.0.1.example.com', '']) {
      expect(isLoopbackHost(host), host).toBe(false);
    }
  });

  it('requires STARTTLS for smtp:// to any other host, and knows the default ports', () => {
    expect(parseSmtpUrl('smtp://u:p@smtp.example.com')).toEqual({ host: 'smtp.example.com', port: 587, implicitTls: false, requireStartTls: true, user: 'u', pass: 'p' });
    expect(parseSmtpUrl('smtps://u:p@smtp.example.com')).toMatchObject({ port: 465, implicitTls: true, requireStartTls: false });
    expect(parseSmtpUrl('smtp://127.0.0.1:2525')).toMatchObject({ port: 2525, requireStartTls: false, user: undefined });
    expect(parseSmtpUrl('smtp://[::1]:25')).toMatchObject({ host: '::1', requireStartTls: false });
    expect(parseSmtpUrl('smtp://localhost:25?tls=required')).toMatchObject({ requireStartTls: true });
    expect(parseSmtpUrl(`smtp://${credentials}@relay.example:25`)).toMatchObject({ user: USER, pass: PASSWORD });
  });

  it('names SMTP_URL when malformed, never echoing the password', () => {
    const cases: [string, RegExp][] = [
      ['smtp//user:hunter2secret@host', /not a URL/],
      ['http://user:hunter2secret@host', /must start with smtp:\/\//],
      ['smtp://user:hunter2secret@host/path', /path/],
      ['smtp://user:hunter2secret@host?tls=maybe', /query/],
      ['smtps://user:hunter2secret@host?tls=required', /smtps:\/\/ is always TLS/],
      ['smtp://user:hunter2secret%zz@host', /%-escape/],
      ['smtp://user@host', /no password/],
      ['smtp://:hunter2secret@host', /no user name/],
      ['smtp://user:hunter2secret@host:99999', /not a URL/],
    ];
    for (const [value, expected] of cases) {
      const problem = smtpUrlProblem(value);
      expect(problem, value).toMatch(/^SMTP_URL/);
      expect(problem, value).toMatch(expected);
      expect(problem, value).not.toContain('hunter2');
    }
    expect(smtpUrlProblem('smtps://user:pass@smtp.example.com:465')).toBeUndefined();
    expect(() => smtpTransport({ url: 'http://user:hunter2secret@host' })).toThrow(/^SMTP_URL must start/);
  });
});

describe('the Worker bundle', () => {
  it('never reaches the SMTP transport or nodemailer from functions/worker.ts', () => {
    const root = resolve(import.meta.dirname, '../..');
    const seen = new Set<string>();
    const bare = new Set<string>();
    const visit = (path: string) => {
      if (seen.has(path)) return;
      seen.add(path);
      const text = readFileSync(join(root, path), 'utf8');
      for (const [, spec] of text.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)) {
        if (spec!.startsWith('.')) visit(relative(root, resolve(root, dirname(path), spec!)));
        else bare.add(spec!);
      }
    };
    visit('functions/worker.ts');
    expect(seen.size).toBeGreaterThan(20);
    expect([...seen].filter((p) => p.startsWith('lib/mail/transports/smtp'))).toEqual([]);
    expect([...bare].filter((spec) => spec.startsWith('nodemailer') || spec.startsWith('smtp-server'))).toEqual([]);
  });
});
