/**
 * The same first hour on `npm run dev:edge` (the Worker in workerd, local D1): 40 registrations,
 * activations and logins from one client, then the same again after restarting dev:edge on the
 * same local D1 (whose throttle rows outlast restarts), with no 429; the per-address mail allowance
 * still holds (the same 202, no mail past it). Cheap scrypt parameters via `--var`, so that the hashing does not dominate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { firstHour, mailAllowance } from '../../scripts/first-hour.ts';
import { freePort, ROOT } from '../../scripts/support/server-process.ts';

const state = mkdtempSync(join(tmpdir(), 'latchkey-dev-edge-'));
const running: ChildProcess[] = [];

afterAll(async () => {
  for (const child of running.splice(0)) await stop(child);
  rmSync(state, { recursive: true, force: true });
});

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const closed = new Promise((resolve) => child.once('close', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  const late = setTimeout(() => child.exitCode === null && process.kill(-child.pid!, 'SIGKILL'), 10_000);
  await closed;
  clearTimeout(late);
}

/** `npm run dev:edge` on a port of its own, persisting to this file's state directory; ready once /health answers. */
async function devEdge(port: number) {
  const inspector = await freePort();
  const child = spawn('npm', ['run', '--silent', 'dev:edge', '--', '--var', 'SCRYPT_LOG_N:4', '--var', 'SCRYPT_P:1', '--inspector-port', String(inspector)], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), WRANGLER_PERSIST_TO: state, PUBLIC_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  running.push(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`dev:edge exited: ${output}`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`dev:edge not ready in 60 s: ${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { child, url, output: () => output };
}

const ALL_WELL = { 'register 202': 40, 'activate 200': 40, 'login 200': 40 };

describe("a developer's first hour against npm run dev:edge", () => {
  it('40 accounts from one client, twice with a restart on the same local D1, no 429; the mail allowance still holds', { timeout: 150_000 }, async () => {
    const port = await freePort();
    let edge = await devEdge(port);
    const first = await firstHour(edge.url, { prefix: 'first' });
    expect(first.answers).toEqual(ALL_WELL);
    expect(edge.output()).toContain(`local D1 database in ${join(state, 'v3', 'd1')}`);
    expect(edge.output()).toMatch(/"event":"worker_started".*"mode":"development"/);
    await stop(edge.child);
    edge = await devEdge(port);
    const second = await firstHour(edge.url, { prefix: 'second' });
    expect(second.answers).toEqual(ALL_WELL);
    expect(await mailAllowance(edge.url, 'bombed@example.com')).toEqual({ statuses: [202, 202, 202, 202, 202, 202], mails: 5 });
    expect(edge.output()).toMatch(/"event":"throttled".*"rule":"mail"/);
    expect(edge.output()).not.toMatch(/"event":"throttled".*"rule":"client"/);
    console.log(`first-hour on dev:edge (fast scrypt): ${first.elapsedMs} ms, then ${second.elapsedMs} ms after a restart`);
  });
});
