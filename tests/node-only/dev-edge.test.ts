// `npm run dev:edge` believes a client-sent CF-Connecting-IP (Cloudflare's edge would overwrite
// it), so it must only ever listen on loopback. Starting wrangler dev takes about 20 s here, so
// this checks what the script asks of wrangler, and that wrangler.toml does not ask otherwise.
// (Checked by hand once: `ss -ltn` shows workerd on 127.0.0.1:PORT only, and the machine's own
// network address is refused.)
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { passOnArgs, wranglerDevArgs } from '../../scripts/dev-edge.mjs';

const argsFor = (env: Record<string, string>) => wranglerDevArgs(env) as string[];
const ipOf = (args: string[]) => args[args.indexOf('--ip') + 1];

describe('npm run dev:edge', () => {
  it('asks wrangler dev for loopback only, whatever the environment says', () => {
    const envs: Array<Record<string, string>> = [{}, { PORT: '9000' }, { HOST: '0.0.0.0', IP: '0.0.0.0', WRANGLER_IP: '0.0.0.0' }, { WRANGLER_PERSIST_TO: '/tmp/x' }];
    for (const env of envs) {
      const args = argsFor(env);
      expect(args[0]).toBe('dev');
      expect(args.filter((a) => a === '--ip')).toHaveLength(1);
      expect(ipOf(args)).toBe('127.0.0.1');
    }
    expect(argsFor({ PORT: '9000' })).toEqual(expect.arrayContaining(['--port', '9000', '--var', 'PUBLIC_URL:http://localhost:9000']));
  });

  it('passes further arguments on to wrangler dev, but refuses any that would set the address', () => {
    const passOn = passOnArgs as (argv: string[]) => string[];
    expect(passOn(['--fresh', '--var', 'SCRYPT_LOG_N:4'])).toEqual(['--var', 'SCRYPT_LOG_N:4']);
    for (const argv of [['--ip', '0.0.0.0'], ['--ip=0.0.0.0'], ['--var', 'X:1', '--ip', '::']]) {
      expect(() => passOn(argv), argv.join(' ')).toThrow(/127\.0\.0\.1 only/);
    }
  });

  it('has no [dev] section in wrangler.toml that could widen it', () => {
    const toml = readFileSync(new URL('../../wrangler.toml', import.meta.url), 'utf8');
    expect(toml).not.toMatch(/^\s*\[dev\]/m);
    expect(toml).not.toMatch(/^\s*ip\s*=/m);
  });
});
