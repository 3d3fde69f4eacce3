#!/usr/bin/env node
// The npm registry this project installs from here serves workerd's Linux builds only, so
// `npm install` leaves workerd's macOS and Windows builds out of package-lock.json, and `npm ci`
// then refuses the lock as out of sync. This adds lock entries for those builds, marked with their
// os and cpu, so npm skips them on Linux and fetches them on the platforms they are for.
// Run it after any `npm install` that changes the lock: `node scripts/lock-platform-stubs.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORMS = {
  '@cloudflare/workerd-darwin-64': { os: ['darwin'], cpu: ['x64'] },
  '@cloudflare/workerd-darwin-arm64': { os: ['darwin'], cpu: ['arm64'] },
  '@cloudflare/workerd-linux-64': { os: ['linux'], cpu: ['x64'] },
  '@cloudflare/workerd-linux-arm64': { os: ['linux'], cpu: ['arm64'] },
  '@cloudflare/workerd-windows-64': { os: ['win32'], cpu: ['x64'] },
};

const file = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(file, 'utf8'));
const packages = lock.packages;
let added = 0;
for (const [path, meta] of Object.entries(packages)) {
  if (!path.endsWith('node_modules/workerd')) continue;
  const parent = path.slice(0, -'workerd'.length);
  for (const [name, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const nested = `${parent}${name}`;
    const hoisted = `node_modules/${name}`;
    const satisfied = [nested, hoisted].some((p) => packages[p]?.version === version);
    if (satisfied || !PLATFORMS[name]) continue;
    const at = packages[hoisted] ? nested : hoisted;
    packages[at] = { version, license: 'Apache-2.0', optional: true, ...PLATFORMS[name], engines: { node: '>=16' } };
    added++;
  }
}
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))));
writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`lock-platform-stubs: added ${added} entr${added === 1 ? 'y' : 'ies'}`);
