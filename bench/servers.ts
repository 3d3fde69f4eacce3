/**
 * The servers under test, each in its own process on 127.0.0.1 at a port the system picks:
 * Latchkey's Node server (`functions/server.ts`), a bare Hono "hello" on @hono/node-server, and
 * `wrangler dev` (workerd with local D1). Each is stopped by the id of the process we started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NO_LIMITS } from '../scripts/support/limits.ts';
import { freePort } from '../scripts/support/server-process.ts';
import { MALLOC_TUNABLES } from '../lib/crypto/threadpool.ts';
import { cpuSeconds, processGroup } from '../scripts/support/proc-stat.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NODE_FLAGS = ['--disable-warning=ExperimentalWarning'];
const START_TIMEOUT_MS = 60_000;

export interface Running {
  name: string;
  url: string;
  pid: number;
  /** Current resident set size in KiB (Linux /proc), or null where unknown. */
  rssKiB(): number | null;
  /** Peak resident set size in KiB since start or since resetPeak(). */
  peakRssKiB(): number | null;
  /** CPU time the process has used so far, user + system, in seconds (Linux /proc), or null. */
  cpuSeconds(): number | null;
  /** Starts a new peak measurement (Linux: clear_refs 5). */
  resetPeak(): void;
  stop(): Promise<void>;
}

function procStatus(pid: number, field: string): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/** CPU time of every process in a process group (wrangler and the workerd it runs). */
function groupCpuSeconds(pgid: number): number | null {
  const times = processGroup(pgid).map(cpuSeconds).filter((t) => t !== null);
  return times.length > 0 ? times.reduce((a, b) => a + b, 0) : null;
}

function stopper(child: ChildProcess, group: boolean): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const signal = (sig: NodeJS.Signals) => {
        try {
          // wrangler runs workerd as its own child: signal the group we created for it.
          if (group) process.kill(-child.pid!, sig);
          else child.kill(sig);
        } catch {
          // already gone
        }
      };
      const force = setTimeout(() => signal('SIGKILL'), 20_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      signal('SIGTERM');
    });
}

function running(name: string, child: ChildProcess, url: string, group = false): Running {
  const pid = child.pid!;
  return {
    name,
    url,
    pid,
    rssKiB: () => procStatus(pid, 'VmRSS'),
    peakRssKiB: () => procStatus(pid, 'VmHWM'),
    cpuSeconds: () => (group ? groupCpuSeconds(pid) : cpuSeconds(pid)),
    resetPeak: () => {
      try {
        writeFileSync(`/proc/${pid}/clear_refs`, '5');
      } catch {
        // not Linux, or not allowed: the peak then counts from the start
      }
    },
    stop: stopper(child, group),
  };
}

/** Resolves with the first stdout line for which `pick` returns a value; the rest is drained. */
function waitForLine<T>(child: ChildProcess, name: string, pick: (line: string) => T | undefined): Promise<T> {
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const timer = setTimeout(() => reject(new Error(`${name} did not start in time.\n${stderr}`)), START_TIMEOUT_MS);
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (found) return;
      const value = pick(line);
      if (value !== undefined) {
        found = true;
        clearTimeout(timer);
        resolve(value);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!found) reject(new Error(`${name} exited with ${code} before it was ready.\n${stderr}`));
    });
  });
}

/**
 * The per-client allowances would refuse a load generator on one address within seconds: off, so
 * that every request does its endpoint's work (the per-address login back-off stays on). The same
 * list the tests use, so that a new limit is switched off in both.
 */
export const NO_CLIENT_LIMITS: Record<string, string> = NO_LIMITS;

/** What the Node server says of itself when it starts: its hashes in flight and libuv pool threads. */
export interface NodeStarted {
  port: number;
  hashSlots: number;
  threadpool: number;
}

/**
 * Latchkey's Node server as `npm start` runs it, on its own database file; `root`, another checkout
 * (a `git worktree` of the commit before a change) to compare with this one, in the same way;
 * `nodeFlags`, more of Node's own options (`--cpu-prof`: bench/profile.ts).
 */
export async function startLatchkeyNode(
  databasePath: string,
  vars: Record<string, string> = {},
  root = ROOT,
  nodeFlags: string[] = [],
): Promise<Running & { started: NodeStarted }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...nodeFlags, join(root, 'functions/start.ts')], {
    cwd: root,
    // GLIBC_TUNABLES as package.json's start script sets it (lib/crypto/threadpool.ts MALLOC_TUNABLES).
    env: { ...process.env, GLIBC_TUNABLES: process.env.GLIBC_TUNABLES ?? MALLOC_TUNABLES, PORT: '0', HOST: '127.0.0.1', DATABASE_PATH: databasePath, PUBLIC_URL: 'http://127.0.0.1', ...NO_CLIENT_LIMITS, ...vars },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const started = await waitForLine(child, 'latchkey (node)', (line) => {
    if (!line.startsWith('{"event":"server_started"')) return undefined;
    return JSON.parse(line) as NodeStarted;
  });
  return { ...running('latchkey-node', child, `http://127.0.0.1:${started.port}`), started };
}

/** The reference: Hono's "hello" on the same Node and the same adapter, nothing else. */
export async function startBareHono(): Promise<Running> {
  const child = spawn(process.execPath, [...NODE_FLAGS, join(ROOT, 'bench/hello-server.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await waitForLine(child, 'bare hono', (line) => {
    const match = /^listening (\d+)$/.exec(line);
    return match ? Number(match[1]) : undefined;
  });
  return running('bare-hono', child, `http://127.0.0.1:${port}`);
}

const WRANGLER = join(ROOT, 'node_modules/wrangler/bin/wrangler.js');
const wranglerEnv = () => ({ ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' });

/** Runs a wrangler command to its end; rejects with its output if it fails. */
export function wrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRANGLER, ...args], { cwd: ROOT, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`wrangler ${args.join(' ')} failed (${code}):\n${output.slice(-3000)}`))));
  });
}

/** `wrangler dev` on local D1 kept in `persistTo` (migrations applied by the caller). */
export async function startWranglerDev(persistTo: string): Promise<Running> {
  const port = await freePort();
  const inspectorPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [
      WRANGLER,
      'dev',
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspectorPort),
      '--persist-to',
      persistTo,
      '--var',
      `PUBLIC_URL:${url}`,
      ...Object.entries(NO_CLIENT_LIMITS).flatMap(([name, value]) => ['--var', `${name}:${value}`]),
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    { cwd: ROOT, env: wranglerEnv(), stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  // Drain its output (mail and event lines) so that a full pipe never stalls it.
  child.stdout.resume();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const handle = running('wrangler-dev', child, url, true);
  const deadline = Date.now() + START_TIMEOUT_MS * 2;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}.\n${stderr}`);
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return handle;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await handle.stop();
  throw new Error(`wrangler dev did not answer /health in time.\n${stderr}`);
}
