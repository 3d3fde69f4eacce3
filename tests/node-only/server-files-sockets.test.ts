// What a careful operator expects of the Node server's files and sockets: files only its user can
// read whatever the umask; slow clients cut off while others are served; a cap on connections;
// the answers Node's HTTP parser makes itself carrying the same headers as every other answer,
// and logged as the client's bad request, never as an internal error.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/config.ts';
import { DEFAULT_NODE_SERVER_LIMITS, loadNodeServerLimits } from '../../lib/config/node-server-limits.ts';
import { journalPathOf, lockPathOf } from '../../lib/storage/sqljs/files.ts';
import { RESPONSE_HEADERS } from '../../lib/http/security-headers.ts';
import { NO_LIMITS } from '../../scripts/support/limits.ts';
import { lineOf, spawnServer, stopNodeServer, type NodeServer } from '../support/server-node.ts';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modeOf = (path: string) => statSync(path).mode & 0o777;

async function register(port: number, email: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password: 'correct horse battery staple' }),
    signal: AbortSignal.timeout(10_000),
  });
  await res.arrayBuffer();
  return res.status;
}

describe('files', () => {
  it('creates the database, journal and lock 0600 and the data directory 0700, even under umask 000', async () => {
    const data = join(dir, 'data', 'nested');
    const path = join(data, 'accounts.sqlite');
    // A snapshot after every write: the database file is rewritten (a new file, renamed) each time.
    const server = spawnServer(path, { JOURNAL_SNAPSHOT_BYTES: '1', ...NO_LIMITS }, { umask: '000' });
    const port = await server.started;
    expect(await register(port, 'modes@example.com')).toBe(202);
    const modes = () => ({
      data: modeOf(join(dir, 'data')),
      nested: modeOf(data),
      database: modeOf(path),
      journal: modeOf(journalPathOf(path)),
      lock: modeOf(lockPathOf(path)),
    });
    const expected = { data: 0o700, nested: 0o700, database: 0o600, journal: 0o600, lock: 0o600 };
    expect(modes()).toEqual(expected);
    expect(await stopNodeServer(server)).toEqual({ code: 0, signal: null });
    expect(modes()).toEqual(expected); // the final snapshot too
  });
});

/** One raw HTTP/1.1 connection: what was sent back, and when the server closed it. */
interface Raw {
  socket: Socket;
  received: () => string;
  closed: Promise<{ text: string; afterMs: number }>;
}

function raw(port: number, first = ''): Raw {
  const socket = connect(port, '127.0.0.1');
  const started = Date.now();
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined); // a reset is one of the outcomes looked at
  const closed = new Promise<{ text: string; afterMs: number }>((resolve) =>
    socket.on('close', () => resolve({ text, afterMs: Date.now() - started })),
  );
  if (first) socket.write(first);
  return { socket, received: () => text, closed };
}

/** Writes a byte every `everyMs` until the socket closes: a client that is slow on purpose. */
function dribble(r: Raw, byte: string, everyMs: number): void {
  const timer = setInterval(() => (r.socket.writable ? r.socket.write(byte) : clearInterval(timer)), everyMs);
  void r.closed.then(() => clearInterval(timer));
}

function statusAndHeaders(text: string): { status: number; headers: Map<string, string>; body: string } {
  const [head = '', body = ''] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()] as [string, string]));
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

function expectSecurityHeaders(headers: Map<string, string>): void {
  for (const [name, value] of RESPONSE_HEADERS) expect(headers.get(name.toLowerCase()), name).toBe(value);
}

const POST_HEAD = 'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';

describe('sockets (HEADERS_TIMEOUT_MS=1000, REQUEST_TIMEOUT_MS=2000, MAX_CONNECTIONS=6)', () => {
  let server: NodeServer;
  let port: number;
  beforeAll(async () => {
    server = spawnServer(join(dir, 'sockets.sqlite'), {
      ...NO_LIMITS,
      HEADERS_TIMEOUT_MS: '1000',
      REQUEST_TIMEOUT_MS: '2000',
      KEEP_ALIVE_TIMEOUT_MS: '500',
      MAX_CONNECTIONS: '6',
    });
    port = await server.started;
  });
  afterAll(async () => {
    expect(await stopNodeServer(server)).toEqual({ code: 0, signal: null });
    // However the clients misbehaved, nothing was counted as the server's own failure.
    expect(server.lines.filter((l) => l.event === 'internal_error')).toEqual([]);
  });

  /** Registers other clients one after another for as long as the slow one stays connected. */
  async function serveOthersUntilClosed(slow: Raw, prefix: string): Promise<number> {
    let served = 0;
    while (slow.socket.readyState !== 'closed' && served < 80) {
      expect(await register(port, `${prefix}${served}@example.com`)).toBe(202);
      served++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return served;
  }

  // [what is slow, the bytes it starts with, the byte it then sends every 200 ms, its limit]
  const slowClients: Array<[string, string, string, number]> = [
    ['headers', 'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X', 1_000], // Node's default: 60 s
    ['body', `${POST_HEAD}Content-Length: 200\r\n\r\n{`, ' ', 2_000], // Node's default: 300 s
  ];
  for (const [what, first, byte, limitMs] of slowClients) {
    it(`cuts off a client that sends its ${what} slowly with a 408 that carries the security headers, serving others meanwhile`, async () => {
      const before = server.lines.length;
      const slow = raw(port, first);
      dribble(slow, byte, 200);
      const served = await serveOthersUntilClosed(slow, `while-slow-${what}`);
      const { text, afterMs } = await slow.closed;
      expect(afterMs).toBeGreaterThanOrEqual(limitMs - 100);
      expect(afterMs).toBeLessThan(limitMs + 3_000);
      expect(served).toBeGreaterThan(3);
      const answer = statusAndHeaders(text);
      expect(answer.status).toBe(408);
      expectSecurityHeaders(answer.headers);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({ status: 408 });
      expect(server.lines.slice(before)).toContainEqual(expect.objectContaining({ event: 'bad_request', reason: 'ERR_HTTP_REQUEST_TIMEOUT', status: 408 }));
    });
  }

  it('closes an idle keep-alive connection after KEEP_ALIVE_TIMEOUT_MS', async () => {
    const idle = raw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const { text, afterMs } = await idle.closed;
    expect(statusAndHeaders(text).status).toBe(200);
    expect(statusAndHeaders(text).headers.get('connection')).toBe('keep-alive');
    expect(afterMs).toBeGreaterThanOrEqual(400);
    expect(afterMs).toBeLessThan(2_500); // 500 ms + Node's 1 s keepAliveTimeoutBuffer; its default is 5 s + 1 s
  });

  it('closes connections past MAX_CONNECTIONS as they arrive, and serves again once there is room', async () => {
    const held = Array.from({ length: 6 }, () => raw(port, 'GET /health HTTP/1.1\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const refused = raw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    const { text, afterMs } = await refused.closed;
    expect(text).toBe('');
    expect(afterMs).toBeLessThan(900); // closed at once, not by a timeout
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await register(port, 'after-the-crowd@example.com')).toBe(202);
  });

  const parserCases: Array<[string, string, number, string]> = [
    ['a malformed chunked body', `${POST_HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\nZZZ\r\n`, 400, 'HPE_INVALID_CHUNK_SIZE'],
    ['headers too large', `GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HPE_HEADER_OVERFLOW'],
    ['a request line that is not HTTP', 'HELLO THERE\r\n\r\n', 400, 'HPE_INVALID_METHOD'],
  ];
  for (const [label, request, status, reason] of parserCases) {
    it(`answers ${label} with ${status} and the security headers, logged as bad_request`, async () => {
      const before = server.lines.length;
      const { text } = await raw(port, request).closed;
      const answer = statusAndHeaders(text);
      expect(answer.status).toBe(status);
      expectSecurityHeaders(answer.headers);
      expect(answer.headers.get('connection')).toBe('close');
      expect(JSON.parse(answer.body)).toMatchObject({ status, type: expect.stringMatching(/^urn:latchkey:problem:/) });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const logged = server.lines.slice(before);
      expect(logged).toContainEqual(expect.objectContaining({ event: 'bad_request', reason, status, client: '127.0.0.1' }));
      expect(logged.filter((l) => l.event === 'internal_error')).toEqual([]);
    });
  }

  it('answers an HTTP/1.1 request without Host with a 400 problem that carries the security headers, logged once as bad_request', async () => {
    // Node's HTTP server answered this one by itself: a bare 400, no security headers, no log line.
    for (const request of ['GET /health HTTP/1.1\r\nConnection: close\r\n\r\n', `POST /register HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`]) {
      const before = server.lines.length;
      const { text } = await raw(port, request).closed;
      const answer = statusAndHeaders(text);
      expect(answer.status, request).toBe(400);
      expectSecurityHeaders(answer.headers);
      expect(answer.headers.get('connection')).toBe('close');
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(JSON.parse(answer.body)).toMatchObject({ status: 400, type: 'urn:latchkey:problem:missing-host' });
      const line = await lineOf(server, (l) => server.lines.indexOf(l) >= before && l.event === 'bad_request');
      expect(line).toMatchObject({ event: 'bad_request', reason: 'missing-host', status: 400, client: '127.0.0.1' });
      expect(server.lines.slice(before).filter((l) => l.event === 'bad_request')).toHaveLength(1);
    }
    // With a Host, the same request is served as ever.
    const ok = statusAndHeaders((await raw(port, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n').closed).text);
    expect(ok.status).toBe(200);
  });

  it('logs a chunked body that the client breaks off as bad_request, not as an internal error, however many times', async () => {
    const before = server.lines.length;
    for (let n = 0; n < 10; n++) {
      const r = raw(port, `${POST_HEAD}Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      r.socket.destroy();
      await r.closed;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    const logged = server.lines.slice(before);
    expect(logged.filter((l) => l.event === 'internal_error')).toEqual([]);
    expect(logged.filter((l) => l.event === 'bad_request')).toHaveLength(10);
  });
});

describe('socket limits configuration', () => {
  it('has defaults for an auth endpoint and refuses nonsense, naming the variable', () => {
    expect(loadNodeServerLimits({})).toEqual(DEFAULT_NODE_SERVER_LIMITS);
    expect(loadNodeServerLimits({ REQUEST_TIMEOUT_MS: '30000', MAX_CONNECTIONS: '100' })).toMatchObject({ requestTimeoutMs: 30_000, maxConnections: 100 });
    expect(() => loadNodeServerLimits({ MAX_CONNECTIONS: '0' })).toThrow(/MAX_CONNECTIONS/);
    expect(() => loadNodeServerLimits({ KEEP_ALIVE_TIMEOUT_MS: 'soon' })).toThrow(ConfigError);
    expect(() => loadNodeServerLimits({ HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' })).toThrow(/HEADERS_TIMEOUT_MS/);
  });
});
