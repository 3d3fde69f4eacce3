import { ConfigError, integer, type ConfigVars } from './vars.ts';

/**
 * The Node server's own limits on clients (Workers has Cloudflare's). Bodies are at most 16 KiB
 * and headers a few hundred bytes, so a client that needs longer than these is slow on purpose
 * or broken; each connection held open costs a socket and memory, so they are capped below the
 * usual 1024 open-file limit, far above what the password hashing can serve at once.
 */
export interface NodeServerLimits {
  /** Whole request, headers and body (REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Headers only (HEADERS_TIMEOUT_MS); at most requestTimeoutMs. */
  headersTimeoutMs: number;
  /** How long an idle keep-alive connection stays open (KEEP_ALIVE_TIMEOUT_MS). */
  keepAliveTimeoutMs: number;
  /** Open connections at once (MAX_CONNECTIONS); more are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_NODE_SERVER_LIMITS: NodeServerLimits = {
  requestTimeoutMs: 15_000,
  headersTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 512,
};

export function loadNodeServerLimits(vars: ConfigVars): NodeServerLimits {
  const d = DEFAULT_NODE_SERVER_LIMITS;
  const limits: NodeServerLimits = {
    requestTimeoutMs: integer(vars, 'REQUEST_TIMEOUT_MS', d.requestTimeoutMs, 100, 300_000),
    headersTimeoutMs: integer(vars, 'HEADERS_TIMEOUT_MS', d.headersTimeoutMs, 100, 300_000),
    keepAliveTimeoutMs: integer(vars, 'KEEP_ALIVE_TIMEOUT_MS', d.keepAliveTimeoutMs, 100, 300_000),
    maxConnections: integer(vars, 'MAX_CONNECTIONS', d.maxConnections, 1, 1_000_000),
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new ConfigError('HEADERS_TIMEOUT_MS must not be more than REQUEST_TIMEOUT_MS (the request includes its headers)');
  }
  return limits;
}
