// `npm run build` (and so `npm pack`, through prepack): the package's entries compiled to dist/
// by tsconfig.build.json, from a clean dist/ so that no file of an older build ships. The compiled
// Node entries read the migrations beside their folder, as the sources do (functions/node.ts), so
// dist/ gets its own copy of migrations/.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const at = (path) => fileURLToPath(new URL(`../${path}`, import.meta.url));

rmSync(at('dist'), { recursive: true, force: true });
execFileSync(process.execPath, [at('node_modules/typescript/bin/tsc'), '-p', at('tsconfig.build.json')], { stdio: 'inherit' });
cpSync(at('migrations'), at('dist/migrations'), { recursive: true });
