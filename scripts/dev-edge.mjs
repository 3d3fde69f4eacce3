#!/usr/bin/env node
// `npm run dev:edge`: the Worker in workerd with a local D1 database, as `wrangler dev` runs it,
// after applying the migrations. Honours PORT and PUBLIC_URL like `npm start` does.
//
// Loopback only, always: the dev server believes the CF-Connecting-IP header a client sends
// (on Cloudflare the edge overwrites it), so anyone who could reach it could pick a new client
// address per request and skip every per-client allowance. It must never face a network.
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const DEV_HOST = '127.0.0.1';

/** The arguments for `wrangler dev`, from the environment. */
export function wranglerDevArgs(env) {
  const port = env.PORT || '8787';
  const publicUrl = env.PUBLIC_URL || `http://localhost:${port}`;
  return ['dev', '--port', port, '--ip', DEV_HOST, '--var', `PUBLIC_URL:${publicUrl}`, ...persistArgs(env)];
}

const persistArgs = (env) => (env.WRANGLER_PERSIST_TO ? ['--persist-to', env.WRANGLER_PERSIST_TO] : []);

function main() {
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
  const migrate = spawnSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(env)], { stdio: 'inherit', env });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);

  const dev = spawn('wrangler', wranglerDevArgs(env), { stdio: 'inherit', env });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
  dev.on('exit', (code) => process.exit(code ?? 0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
