/**
 * What the Node server does about clients before the app sees a request: how long they may take,
 * how many may be connected, and the answers Node's HTTP parser gives by itself (a malformed
 * request, headers too large, a request too slow), which get the same headers as every other
 * answer and are logged as `bad_request`, the client's fault, not as internal errors; and an
 * HTTP/1.1 request without Host, which Node also answered by itself, bare and unlogged.
 */
import { createServer, STATUS_CODES, type IncomingMessage, type RequestListener, type Server, type ServerOptions, type ServerResponse } from 'node:http';
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
    // Node's own 400 for an HTTP/1.1 request without Host has no security headers and no log
    // line; withHostRequired() gives it both instead.
    requireHostHeader: false,
  };
}

/**
 * For @hono/node-server's `createServer` option: the server, with HTTP/1.1 requests that lack Host
 * (RFC 9112 §3.2: a server MUST answer 400) refused before the app sees them. Without this check
 * the adapter would take the listening address for the missing Host and serve the request.
 */
export function withHostRequired(log: EventLog): typeof createServer {
  const create = (options: ServerOptions, listener: RequestListener): Server =>
    createServer(options, (req: IncomingMessage, res: ServerResponse) => {
      if (req.httpVersion !== '1.1' || req.headers.host !== undefined) return listener(req, res);
      log('bad_request', { reason: 'missing-host', status: 400, client: req.socket.remoteAddress ?? 'unknown' });
      const { headers, body } = problemAnswer(400, ['missing-host', 'The request has no Host header']);
      res.writeHead(400, headers);
      res.end(body);
    });
  // The cast: createServer's overloads cannot all be met by one function; the adapter calls only (options, listener), which this provides.
  return create as unknown as typeof createServer;
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

/** A problem answer made outside the app, with the headers every answer of the app carries; the connection closes. */
function problemAnswer(status: number, [slug, title]: [string, string]): { headers: Array<[string, string]>; body: string } {
  const body = JSON.stringify({ ...details(slug, title), status });
  const headers: Array<[string, string]> = [
    ['Connection', 'close'],
    ['Content-Type', PROBLEM_CONTENT_TYPE],
    ['Content-Length', String(Buffer.byteLength(body))],
    ...RESPONSE_HEADERS.map(([name, value]): [string, string] => [name, value]),
  ];
  return { headers, body };
}

function parserAnswer(status: number): string {
  const { headers, body } = problemAnswer(status, TITLES[status]!);
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, ...headers.map(([name, value]) => `${name}: ${value}`)];
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
