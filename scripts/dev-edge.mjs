#!/usr/bin/env node
// `npm run dev:edge`: the Worker in workerd with a local D1 database, as `wrangler dev` runs it,
// after applying the migrations. Honours PORT and PUBLIC_URL like `npm start` does.
//
// The local D1 database (and the throttle's counters in it) lives under .wrangler/state/v3/d1,
// or under $WRANGLER_PERSIST_TO/v3/d1, and outlasts restarts. `npm run dev:edge -- --fresh` starts
// from an empty one (it deletes that d1 directory first, nothing else). Other arguments go to `wrangler dev`
// (`-- --var SCRYPT_LOG_N:4`, say).
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const port = process.env.PORT || '8787';
const publicUrl = process.env.PUBLIC_URL || `http://localhost:${port}`;
const d1 = resolve(root, process.env.WRANGLER_PERSIST_TO || '.wrangler/state', 'v3', 'd1');
const persist = process.env.WRANGLER_PERSIST_TO ? ['--persist-to', process.env.WRANGLER_PERSIST_TO] : [];
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };
const fresh = process.argv.includes('--fresh');
const passOn = process.argv.slice(2).filter((arg) => arg !== '--fresh');

if (fresh) rmSync(d1, { recursive: true, force: true });
console.error(
  `dev:edge: local D1 database in ${d1} (${fresh ? 'started empty' : 'kept between runs'}); ` +
    `npm run dev:edge -- --fresh starts from an empty one.`,
);

const migrate = spawnSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], { stdio: 'inherit', env, cwd: root });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn('wrangler', ['dev', '--port', port, '--ip', '127.0.0.1', '--var', `PUBLIC_URL:${publicUrl}`, ...persist, ...passOn], {
  stdio: 'inherit',
  env,
  cwd: root,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
dev.on('exit', (code) => process.exit(code ?? 0));
