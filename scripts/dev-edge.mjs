#!/usr/bin/env node
// `npm run dev:edge`: the Worker in workerd with a local D1 database, as `wrangler dev` runs it,
// after applying the migrations. Honours PORT and PUBLIC_URL like `npm start` does.
//
// The local D1 database (and the throttle's counters in it) lives under .wrangler/state/v3/d1,
// or under $WRANGLER_PERSIST_TO/v3/d1, and outlasts restarts. `npm run dev:edge -- --fresh` starts
// from an empty one (it deletes that d1 directory first, nothing else). Other arguments go to
// `wrangler dev` (`-- --var SCRYPT_LOG_N:4`, say), except --ip, which is refused:
//
// Loopback only, always: the dev server believes the CF-Connecting-IP header a client sends
// (on Cloudflare the edge overwrites it), so anyone who could reach it could pick a new client
// address per request and skip every per-client allowance. It must never face a network.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
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

/**
 * The script's own arguments that go on to `wrangler dev`: all but --fresh, and never an --ip,
 * which would undo the loopback-only rule above. Throws, naming why, for an --ip.
 */
export function passOnArgs(argv) {
  if (argv.some((arg) => arg === '--ip' || arg.startsWith('--ip='))) {
    throw new Error('dev:edge listens on 127.0.0.1 only: it believes a client-sent CF-Connecting-IP, so it must not face a network.');
  }
  return argv.filter((arg) => arg !== '--fresh');
}

function main() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
  const d1 = resolve(root, env.WRANGLER_PERSIST_TO || '.wrangler/state', 'v3', 'd1');
  const fresh = process.argv.includes('--fresh');
  let passOn;
  try {
    passOn = passOnArgs(process.argv.slice(2));
  } catch (error) {
    console.error(error.message);
    process.exit(2);
  }

  if (fresh) rmSync(d1, { recursive: true, force: true });
  console.error(
    `dev:edge: local D1 database in ${d1} (${fresh ? 'started empty' : 'kept between runs'}); ` +
      `npm run dev:edge -- --fresh starts from an empty one.`,
  );

  const migrate = spawnSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', ...persistArgs(env)], { stdio: 'inherit', env, cwd: root });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);

  const dev = spawn('wrangler', [...wranglerDevArgs(env), ...passOn], { stdio: 'inherit', env, cwd: root });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
  dev.on('exit', (code) => process.exit(code ?? 0));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
