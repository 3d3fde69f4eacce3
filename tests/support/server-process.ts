/**
 * The real Node server (`node functions/server.ts`, what `npm start` runs) as a child process, for
 * tests that need a real port: its stdout is parsed into the JSON lines it writes (events and
 * mails), and tests wait for the lines they expect.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface LogLine {
  event: string;
  [field: string]: unknown;
}

export interface ServerProcess {
  url: string;
  port: number;
  lines: LogLine[];
  /** The first line (from `from` on) that matches, waiting for it up to `timeoutMs`. */
  waitFor(match: (line: LogLine) => boolean, options?: { from?: number; timeoutMs?: number }): Promise<LogLine>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** A port that was free a moment ago: the server needs to know its port before it starts, for PUBLIC_URL. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export async function startServer(env: Record<string, string>, port?: number): Promise<ServerProcess> {
  const chosen = port ?? (await freePort());
  const url = `http://127.0.0.1:${chosen}`;
  const child: ChildProcess = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'functions/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(chosen), PUBLIC_URL: url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let pending = '';
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve((exited = code))));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ event: 'unparsed', text: part });
      }
    }
    for (const wake of waiters) wake();
  });
  void exit.then(() => waiters.forEach((wake) => wake()));

  const waitFor: ServerProcess['waitFor'] = (match, { from = 0, timeoutMs = 15_000 } = {}) =>
    new Promise((resolve, reject) => {
      const look = () => {
        const found = lines.slice(from).find(match);
        if (found) return done(() => resolve(found));
        if (exited !== undefined) done(() => reject(new Error(`server exited (${exited}) first; stderr: ${stderr}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching line in ${timeoutMs} ms; lines: ${JSON.stringify(lines)}; stderr: ${stderr}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        waiters.delete(look);
        settle();
      };
      waiters.add(look);
      look();
    });

  await waitFor((line) => line.event === 'server_started');
  return {
    url,
    port: chosen,
    lines,
    waitFor,
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
  };
}
