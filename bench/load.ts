/**
 * One load run with autocannon: a fixed number of requests (or a fixed time) at a fixed number of
 * connections, each connection sending its next request when the last one is answered.
 */
import autocannon from 'autocannon';
import type { EventEmitter } from 'node:events';

export interface LoadSpec {
  url: string;
  path: string;
  method?: 'GET' | 'POST';
  connections: number;
  /** Requests in all; the run ends when they are answered. */
  amount?: number;
  /** Seconds; used when no amount is given. */
  seconds?: number;
  headers?: Record<string, string>;
  body?: string;
  /** A fresh body for every request (unique addresses, one-use tokens). */
  nextBody?: () => string;
  /** Statuses that count as the expected answer; anything else is reported. */
  expect: number[];
  /** The server's CPU seconds so far, to charge it per request (robust on a shared machine). */
  serverCpu?: () => number | null;
}

export interface LoadResult {
  connections: number;
  requests: number;
  /** From the start of the run to its last answer. */
  seconds: number;
  /** Answers per second, of any status. */
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  statuses: Record<string, number>;
  /** Answers with a status outside `expect`, plus socket errors and timeouts. */
  unexpected: number;
  /** The server's CPU seconds during the run, where known. */
  cpuSeconds: number | null;
  /** The server's CPU time per answer, in microseconds, where known. */
  cpuMicros: number | null;
  /** Every answer's latency in ms, to merge runs (left out of the JSON). */
  latencies: number[];
}

const TIMEOUT_SECONDS = 60;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

function summarise(
  connections: number,
  seconds: number,
  latencies: number[],
  statuses: Record<string, number>,
  unexpected: number,
  cpuSeconds: number | null,
): LoadResult {
  const sorted = [...latencies].sort((a, b) => a - b);
  const requests = latencies.length;
  const result = {
    connections,
    requests,
    seconds,
    rps: requests / seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: latencies.reduce((a, b) => a + b, 0) / requests,
    statuses,
    unexpected,
    cpuSeconds,
    cpuMicros: cpuSeconds === null ? null : (cpuSeconds * 1e6) / requests,
    latencies,
  };
  Object.defineProperty(result, 'latencies', { enumerable: false });
  return result;
}

/** Several runs as one: their answers and their times added up. */
export function mergeLoads(runs: LoadResult[]): LoadResult {
  const statuses: Record<string, number> = {};
  for (const run of runs) for (const [code, n] of Object.entries(run.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  return summarise(
    runs[0]?.connections ?? 0,
    runs.reduce((t, r) => t + r.seconds, 0),
    runs.flatMap((r) => r.latencies),
    statuses,
    runs.reduce((n, r) => n + r.unexpected, 0),
    runs.every((r) => r.cpuSeconds !== null) ? runs.reduce((t, r) => t + r.cpuSeconds!, 0) : null,
  );
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const method = spec.method ?? 'GET';
  const headers = spec.headers ?? (spec.body !== undefined || spec.nextBody ? { 'content-type': 'application/json' } : {});
  const nextBody = spec.nextBody;
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  let unexpected = 0;
  const cpuBefore = spec.serverCpu?.() ?? null;
  const start = performance.now();
  let last = start;
  // autocannon's own duration is rounded to its one-second ticks: time the answers ourselves.
  // The cast: without a callback autocannon returns one object that is both the event emitter and the promise, and its types name only one.
  const tracker = autocannon({
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    timeout: TIMEOUT_SECONDS,
    ...(spec.amount !== undefined ? { amount: Math.max(spec.amount, spec.connections) } : { duration: spec.seconds ?? 5 }),
    requests: [
      {
        method,
        path: spec.path,
        headers,
        ...(spec.body !== undefined ? { body: spec.body } : {}),
        ...(nextBody ? { setupRequest: (request: Record<string, unknown>) => ({ ...request, body: nextBody() }) } : {}),
      },
    ],
  } as autocannon.Options) as unknown as EventEmitter & PromiseLike<autocannon.Result>;
  tracker.on('response', (_client: unknown, status: number, _bytes: number, responseTime: number) => {
    last = performance.now();
    latencies.push(responseTime);
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (!spec.expect.includes(status)) unexpected++;
  });
  const result = await tracker;
  const cpuAfter = spec.serverCpu?.() ?? null;
  const cpu = cpuBefore !== null && cpuAfter !== null ? cpuAfter - cpuBefore : null;
  return summarise(spec.connections, (last - start) / 1000, latencies, statuses, unexpected + result.errors + result.timeouts, cpu);
}
