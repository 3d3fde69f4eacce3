import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/support/server-process.ts';

describe('deployment', () => {
  it('bundles with `wrangler deploy --dry-run`, offline', () => {
    const out = mkdtempSync(join(tmpdir(), 'latchkey-bundle-'));
    try {
      execFileSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], {
        cwd: ROOT,
        env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
        stdio: 'pipe',
      });
      const bundle = join(out, 'worker.js');
      expect(existsSync(bundle)).toBe(true);
      // Workers accept up to 3 MB compressed on Free; keep far below.
      expect(statSync(bundle).size).toBeLessThan(3 * 1024 * 1024);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('asks for a compatibility date the bundled workerd supports, with nodejs_compat', () => {
    const toml = readFileSync(join(ROOT, 'wrangler.toml'), 'utf8');
    const date = /^compatibility_date = "(\d{4}-\d{2}-\d{2})"/m.exec(toml)?.[1];
    expect(toml).toMatch(/^compatibility_flags = \["nodejs_compat"\]/m);
    const version = execFileSync('npx', ['workerd', '--version'], { cwd: ROOT, encoding: 'utf8' });
    const supported = /(\d{4}-\d{2}-\d{2})/.exec(version)?.[1];
    expect(date && supported && date <= supported).toBe(true);
  });

  it('runs the Worker near its database (Smart Placement), as wrangler reads the configuration', async () => {
    // A flow makes several trips to D1; docs/scale.md ("Where the Worker runs") says why placement follows them.
    const { unstable_readConfig } = await import('wrangler');
    const config = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') });
    expect(config.placement).toEqual({ mode: 'smart' });
  });

  it('asks for a compatibility date with RPC on, in Latchkey and in the example that calls it over a service binding', () => {
    // RPC (WorkerEntrypoint methods over a service binding) is on from 2024-04-03, with no flag.
    for (const toml of ['wrangler.toml', 'examples/app-worker/wrangler.toml']) {
      const date = /^compatibility_date = "(\d{4}-\d{2}-\d{2})"/m.exec(readFileSync(join(ROOT, toml), 'utf8'))?.[1];
      expect(date! >= '2024-04-03', toml).toBe(true);
    }
  });
});
