/**
 * The outside developer's tools, run on the live document (issue 16): openapi-typescript 7 writes
 * the client's types, `tsc` typechecks the flow that tests/typed-client.test.ts runs on both
 * backends (tests/support/typed-client-flow.ts) against them under --strict,
 * --noUncheckedIndexedAccess and --exactOptionalPropertyTypes, and `redocly lint` and
 * `spectral lint` (spectral:oas) find nothing beyond what redocly.yaml and .spectral.yaml switch
 * off, each with its reason. Node only: these are command-line tools. Each check is also shown to
 * fail on a document that is wrong, so none of them is a rubber stamp.
 *
 * openapi-typescript lives in tools/client-generator with the TypeScript 5 compiler API it calls:
 * TypeScript 7, the project's tsc, has none (openapi-ts/openapi-typescript#2841).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness } from '../support/harness.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const at = (path: string) => `${root}${path}`;
// Inside the project, so that the program finds openapi-fetch in node_modules; gitignored.
const work = at('test-artifacts/typed-client/');
const CHECKED_IN_TYPES = at('tests/support/latchkey-api.ts');
const FLOW = at('tests/support/typed-client-flow.ts');
// Offline tools: no telemetry, no update checks.
const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' };

/** Runs a tool's script with this Node; its exit code and output, never a throw. */
async function tool(script: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [at(script), ...args], { cwd: work, env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

const generate = (doc: string, out: string) => tool('tools/client-generator/node_modules/openapi-typescript/bin/cli.js', [doc, '-o', out]);

/** Typechecks the flow against the types in `dir`/latchkey-api.ts, under the strict options. */
async function typecheck(dir: string) {
  copyFileSync(FLOW, `${dir}/typed-client-flow.ts`);
  const options = {
    strict: true,
    noUncheckedIndexedAccess: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    target: 'ES2024',
    module: 'ESNext',
    moduleResolution: 'Bundler',
    allowImportingTsExtensions: true,
    lib: ['ES2024', 'DOM'],
    types: [],
  };
  writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({ compilerOptions: options, files: ['typed-client-flow.ts'] }));
  return tool('node_modules/typescript/bin/tsc', ['-p', `${dir}/tsconfig.json`]);
}

let liveDoc: Record<string, any>;

beforeAll(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(`${work}fresh`, { recursive: true });
  mkdirSync(`${work}optional-body`, { recursive: true });
  const h = await createHarness();
  liveDoc = (await (await h.get('/openapi.json')).json()) as Record<string, any>;
  writeFileSync(`${work}openapi.json`, JSON.stringify(liveDoc));
});

// Left in place (gitignored) so that a stale checked-in client can be replaced by the fresh one.

describe('a client generated from the live document', () => {
  it('is the one checked in, and the flow typechecks against it under the strict options', async () => {
    const generated = await generate(`${work}openapi.json`, `${work}fresh/latchkey-api.ts`);
    expect(generated.code, generated.stderr).toBe(0);
    const fresh = readFileSync(`${work}fresh/latchkey-api.ts`, 'utf8');
    // tests/typed-client.test.ts and the project's tsc use the checked-in copy: it must be this one.
    // After a change to the API: cp test-artifacts/typed-client/fresh/latchkey-api.ts tests/support/
    expect(fresh === readFileSync(CHECKED_IN_TYPES, 'utf8'), 'tests/support/latchkey-api.ts is stale: regenerate it').toBe(true);
    expect(fresh).toMatch(/operations\["activate"\]/);
    const checked = await typecheck(`${work}fresh`);
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.code).toBe(0);
  });

  it('the typecheck bites: with the body of POST /activate optional, the flow no longer compiles', async () => {
    const loose = structuredClone(liveDoc);
    delete loose.paths['/activate'].post.requestBody.required;
    writeFileSync(`${work}optional-body.json`, JSON.stringify(loose));
    expect((await generate(`${work}optional-body.json`, `${work}optional-body/latchkey-api.ts`)).code).toBe(0);
    const checked = await typecheck(`${work}optional-body`);
    expect(checked.code).not.toBe(0);
    // The flow's @ts-expect-error on a body-less call is then unused.
    expect(checked.stdout).toMatch(/TS2578/);
  });
});

describe('the live document, linted', () => {
  it('redocly lint (recommended, less redocly.yaml) finds no error and no warning; it does find them in a broken copy', async () => {
    const broken = structuredClone(liveDoc);
    delete broken.servers;
    delete broken.paths['/login'].post.operationId;
    writeFileSync(`${work}broken.json`, JSON.stringify(broken));
    const lint = async (file: string) => {
      const out = await tool('node_modules/@redocly/cli/bin/cli.js', ['lint', file, '--config', at('redocly.yaml'), '--format', 'json']);
      return JSON.parse(out.stdout) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string }> };
    };
    const live = await lint(`${work}openapi.json`);
    expect(live.problems.map((p) => p.ruleId)).toEqual([]);
    expect(live.totals).toMatchObject({ errors: 0, warnings: 0 });
    const bad = await lint(`${work}broken.json`);
    expect(bad.problems.map((p) => p.ruleId).sort()).toEqual(['no-empty-servers', 'operation-operationId']);
  });

  it('spectral lint (spectral:oas, less .spectral.yaml) finds nothing; it does in a broken copy', async () => {
    const broken = structuredClone(liveDoc);
    delete broken.paths['/login'].post.description;
    delete broken.tags;
    writeFileSync(`${work}broken.json`, JSON.stringify(broken));
    const lint = async (file: string) => {
      const out = await tool('node_modules/@stoplight/spectral-cli/dist/index.js', ['lint', file, '--ruleset', at('.spectral.yaml'), '--format', 'json', '--quiet']);
      return (JSON.parse(out.stdout) as Array<{ code: string; severity: number }>).map((r) => r.code);
    };
    expect(await lint(`${work}openapi.json`)).toEqual([]);
    const bad = await lint(`${work}broken.json`);
    expect(bad).toContain('operation-description');
    expect(bad).toContain('operation-tag-defined');
  });
});
