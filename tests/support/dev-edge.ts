/**
 * `npm run dev:edge` (wrangler dev: the Worker in workerd over a local D1) as a child process, for
 * the tests that need the real thing. Starting it takes wrangler tens of seconds on a busy 2-core
 * machine, so the tests that need it share one start where they can.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort, ROOT } from '../../scripts/support/server-process.ts';
import { until } from './until.ts';

export interface DevEdge {
  child: ChildProcess;
  port: number;
  url: string;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
}

/**
 * Starts `npm run dev:edge` on `port`, persisting its local D1 under `state` (cheap scrypt
 * parameters via `--var`, so that the hashing does not dominate); ready once /health answers.
 */
export async function startDevEdge(port: number, state: string): Promise<DevEdge> {
  const inspector = await freePort();
  const child = spawn('npm', ['run', '--silent', 'dev:edge', '--', '--var', 'SCRYPT_LOG_N:4', '--var', 'SCRYPT_P:1', '--inspector-port', String(inspector)], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), WRANGLER_PERSIST_TO: state, PUBLIC_URL: '', WRANGLER_SEND_METRICS: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that stopping it reaches npm, wrangler and workerd alike.
    detached: true,
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  const edge = { child, port, url, output: () => output };
  try {
    await until(async () => {
      if (child.exitCode !== null) throw new Error(`dev:edge exited: ${output}`);
      return (await fetch(`${url}/health`).then((r) => r.ok, () => false)) || undefined;
    }, 'dev:edge to answer /health', 90_000);
  } catch (error) {
    await stopDevEdge(edge);
    const message = (error as Error).message;
    throw message.startsWith('dev:edge exited') ? error : new Error(`${message}: ${output}`);
  }
  return edge;
}

/** SIGTERM to the whole process group, SIGKILL if it is still there 10 s later; resolves once it closed. */
export async function stopDevEdge({ child }: Pick<DevEdge, 'child'>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  const late = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 10_000);
  await closed;
  clearTimeout(late);
}
