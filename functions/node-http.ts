/**
 * What the Node server does about clients before the app sees a request: how long they may take,
 * how many may be connected, and the answers Node's HTTP parser gives by itself (a malformed
 * request, headers too large, a request too slow), which get the same headers as every other
 * answer and are logged as `bad_request`, the client's fault, not as internal errors.
 */
import { STATUS_CODES, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import type { NodeServerLimits } from '../lib/config/node-server-limits.ts';
import type { EventLog } from '../lib/log.ts';
import { details, PROBLEM_CONTENT_TYPE } from '../lib/http/problems.ts';
import { RESPONSE_HEADERS } from '../lib/http/security-headers.ts';

/** Options for http.createServer. */
export function nodeServerOptions(limits: NodeServerLimits): ServerOptions {
  return {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node looks for requests past their time only this often (30 s by default), which would
    // stretch a 10 s limit to 40 s.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 2))),
  };
}

/** The limits that are not createServer options, and the parser's own answers. */
export function guardNodeServer(server: Server, limits: NodeServerLimits, log: EventLog): void {
  server.maxConnections = limits.maxConnections;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    const status = statusFor(error.code);
    // The peer of the socket: the headers that could name a client behind a proxy were not read.
    log('bad_request', { reason: error.code ?? 'unknown', status, client: socket.remoteAddress ?? 'unknown' });
    // As Node's own handler does: answer only if nothing of a response has gone out yet.
    if (socket.writable && socket.bytesWritten === 0 && error.code !== 'ECONNRESET') {
      socket.end(parserAnswer(status));
      socket.once('finish', () => socket.destroy());
    } else {
      socket.destroy();
    }
  });
}

function statusFor(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

const TITLES: Record<number, [string, string]> = {
  400: ['malformed-request', 'The request could not be parsed as HTTP'],
  408: ['request-timeout', 'The request took too long to arrive'],
  413: ['body-too-large', 'Request body too large'],
  431: ['headers-too-large', 'The request headers are too large'],
};

function parserAnswer(status: number): string {
  const [slug, title] = TITLES[status]!;
  const body = JSON.stringify({ ...details(slug, title), status });
  const headers = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}`,
    'Connection: close',
    `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...RESPONSE_HEADERS.map(([name, value]) => `${name}: ${value}`),
  ];
  return `${headers.join('\r\n')}\r\n\r\n${body}`;
}
