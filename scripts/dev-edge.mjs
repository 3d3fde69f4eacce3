#!/usr/bin/env node
// `npm run dev:edge`: the Worker in workerd with a local D1 database, as `wrangler dev` runs it,
// after applying the migrations. Honours PORT and PUBLIC_URL like `npm start` does.
import { spawn, spawnSync } from 'node:child_process';

const port = process.env.PORT || '8787';
const publicUrl = process.env.PUBLIC_URL || `http://localhost:${port}`;
const persist = process.env.WRANGLER_PERSIST_TO ? ['--persist-to', process.env.WRANGLER_PERSIST_TO] : [];
const env = { ...process.env, WRANGLER_SEND_METRICS: 'false' };

const migrate = spawnSync('wrangler', ['d1', 'migrations', 'apply', 'DB', '--local', ...persist], { stdio: 'inherit', env });
if (migrate.status !== 0) process.exit(migrate.status ?? 1);

const dev = spawn('wrangler', ['dev', '--port', port, '--ip', '127.0.0.1', '--var', `PUBLIC_URL:${publicUrl}`, ...persist], {
  stdio: 'inherit',
  env,
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => dev.kill(signal));
dev.on('exit', (code) => process.exit(code ?? 0));
