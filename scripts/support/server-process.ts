/** Starts the real Node server as a child process and reads its JSON lines (mails, events). */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  lines: Array<Record<string, unknown>>;
  stderr: () => string;
  /** Resolves with the first line (already seen or yet to come) that matches. */
  waitForLine(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  exited: Promise<number | null>;
  /** Signals the whole process group (npm and the server under it). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Whether nothing listens on this port of 127.0.0.1 now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * A port that a server started next can listen on. Not one the system picks (listen on port 0):
 * those come from the ephemeral range (32768-60999 on Linux), which every outgoing connection of
 * the machine also draws from, so with two test files running at once a client's connection could
 * take the port between this probe and the server's listen (EADDRINUSE, seen in a loaded run). A
 * random port below that range is never given to a connection; another test file's pick
 * colliding with it is one chance in thousands.
 */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (await bindable(port)) return port;
  }
  throw new Error('no free port found below the ephemeral range');
}

export async function startServer(env: Record<string, string>, command: string[] = ['npm', 'start', '--silent']): Promise<ServerProcess> {
  const port = env.PORT ?? String(await freePort());
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { ...process.env, SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so a signal reaches npm and the server alike, as Ctrl-C in a terminal does.
    detached: true,
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buffer = '';
  let errText = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const raw = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const line = JSON.parse(raw) as Record<string, unknown>;
        lines.push(line);
        for (const w of waiters.filter((w) => w.match(line))) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      } catch {
        // not one of our JSON lines
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errText += chunk));
  // 'close' waits for every process holding the pipes (the server under npm too), not just the child.
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));

  const waitForLine = (match: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching line in ${timeoutMs} ms; stderr: ${errText}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then((code) => reject(new Error(`server exited (${code}) first; stderr: ${errText}`)));
    });
  };

  // Generous: two test files start servers at once on a 2-core machine (vitest.config.ts).
  await waitForLine((l) => l.event === 'server_started', 60_000);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    lines,
    stderr: () => errText,
    waitForLine,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, signal);
      return exited;
    },
  };
}
