/**
 * The real Node server (`functions/server.ts`) run by node directly, not through npm, so that a
 * SIGKILL hits the server itself: for crashes, two servers on one file, a damaged file at start.
 * Listens on port 0 and reports the port it got. Node-only. (server-process.ts runs `npm start`.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FAST_SCRYPT } from './harness.ts';

const SERVER = fileURLToPath(new URL('../../functions/server.ts', import.meta.url));
/** What `npm start` runs: sizes libuv's thread pool, then starts SERVER. */
const START = fileURLToPath(new URL('../../functions/start.ts', import.meta.url));

export interface NodeServer {
  child: ChildProcess;
  /** Resolves with the bound port once the server logs server_started; rejects if it exits first. */
  started: Promise<number>;
  /** Resolves once the process has exited and its output has been read to the end. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Every JSON line written to stdout so far. */
  lines: Array<Record<string, unknown>>;
  stderr(): string;
}

/**
 * `umask`: start the server under this umask (through sh), as an operator's shell might.
 * `entry: 'start'`: through functions/start.ts, as `npm start` does, instead of server.ts itself.
 */
export function spawnServer(
  databasePath: string,
  env: Record<string, string> = {},
  { umask, entry = 'server' }: { umask?: string; entry?: 'server' | 'start' } = {},
): NodeServer {
  const node = [process.execPath, '--disable-warning=ExperimentalWarning', entry === 'start' ? START : SERVER];
  const command = umask === undefined ? node : ['sh', '-c', `umask ${umask} && exec "$@"`, 'sh', ...node];
  const child = spawn(command[0]!, command.slice(1), {
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_PATH: databasePath,
      PUBLIC_URL: 'http://127.0.0.1',
      ...FAST_SCRYPT,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  let pending = '';
  let onStarted: (port: number) => void = () => {};
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const part of parts) {
      if (!part.trim()) continue;
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      if (line.event === 'server_started') onStarted(Number(line.port));
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const outputDone = Promise.all([
    new Promise((resolve) => child.stdout!.on('end', resolve)),
    new Promise((resolve) => child.stderr!.on('end', resolve)),
  ]);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => void outputDone.then(() => resolve({ code, signal }))),
  );
  const started = new Promise<number>((resolve, reject) => {
    onStarted = resolve;
    void exited.then(({ code, signal }) =>
      reject(new Error(`server exited before starting (code ${code}, signal ${signal}): ${stderr}`)),
    );
  });
  started.catch(() => undefined); // callers that kill early do not wait for it
  return { child, started, exited, lines, stderr: () => stderr };
}

/** Stops a server and waits for it to be gone. */
export async function stopNodeServer(server: NodeServer, signal: NodeJS.Signals = 'SIGTERM') {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill(signal);
  return server.exited;
}

/** The first stdout line that matches, waiting for it if the pipe has not delivered it yet. */
export async function lineOf(server: NodeServer, match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  for (;;) {
    const line = server.lines.find(match);
    if (line) return line;
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error('server exited before writing the line');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * POSTs JSON and returns the status, or null when no answer came: the connection died with a
 * killed server, so nothing was promised.
 */
export async function postStatus(base: string, route: string, body: unknown): Promise<number | null> {
  try {
    const res = await fetch(`${base}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}
