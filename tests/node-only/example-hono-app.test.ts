/**
 * Latchkey as a package (issue 24): `npm pack` makes the tarball a consumer installs, and
 * examples/hono-app, copied out of the repository and given that tarball, typechecks under
 * --strict against the package's own declarations and runs the whole story in Node: register, the
 * mailed link, activate (its onActivated hook keeps a row of its own), login, its own /api/me by
 * bearer token and by cookie, its own login form through latchkey.api, logout, 401. It
 * imports nothing of ours but what the tarball holds, so a file missing from "files", an entry
 * missing from "exports" or a declaration that needs our dev dependencies fails here. The README's
 * code block is the example's app, to the letter.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const example = join(root, 'examples/hono-app');
const work = mkdtempSync(join(tmpdir(), 'latchkey-example-'));
const app = join(work, 'app');
// The consumer's npm must not take this project's package or script settings for its own, which an
// `npm test` run puts in the environment; where the cache and registry are stays.
const KEEP = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('npm_') || KEEP.has(name)));

/** The story's mails, kept by the transport the example takes. */
interface Mail {
  to: string;
  template: string;
  link?: string;
}

/** The example's Node entry (src/node.ts: its app over sql.js) as this test sees it: the project's tsc cannot resolve 'latchkey' (the first test typechecks the real one). */
interface ExampleNodeEntry {
  createNodeApp(options: { origin: string; transport: { name: 'log'; send(mail: Mail): Promise<void> }; breachedPasswords?: { check: 'off' } }): Promise<{
    request(path: string, init?: RequestInit): Response | Promise<Response>;
  }>;
}

beforeAll(async () => {
  // prepack builds dist/ first, so the tarball holds what the sources are now.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
  const [{ filename }] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as [{ filename: string }];
  cpSync(example, app, { recursive: true, filter: (source) => !/[/\\](node_modules|package-lock\.json)$/.test(source) });
  const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  manifest.dependencies.latchkey = `file:${join(work, filename)}`;
  writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
  // hono and the package's own dependencies are in npm's cache from this project's `npm ci`. The
  // example's dev dependency, TypeScript, is not installed: this project's compiler checks it.
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=dev'], { cwd: app, env });
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('examples/hono-app on the packed tarball', () => {
  it('typechecks under --strict against the declarations the tarball ships, with nothing typed loosely', async () => {
    // c.var must be Latchkey's types, not any: a field the public view lacks is an error.
    writeFileSync(
      join(app, 'src/types-bite.ts'),
      `import { Hono } from 'hono';
import { createLatchkey, type LatchkeyUser, type LoginOutcome, type RegisterOutcome } from 'latchkey';
import { openSqlJsDatabase } from 'latchkey/node';
const latchkey = createLatchkey({
  database: await openSqlJsDatabase(),
  publicUrl: 'https://host.example/auth',
  onPasswordChanged: (user: LatchkeyUser) => user.id,
  // @ts-expect-error a deleted account is its id and address only
  onAccountDeleted: (account: LatchkeyUser) => account.createdAt,
});
export const guard = new Hono().get('/x', latchkey.requireSession(), (c) => {
  const email: string = c.var.user.email;
  // @ts-expect-error the public view of an account has no hash
  const hash: string = c.var.user.passwordHash;
  return c.json({ email, hash });
});
const login: LoginOutcome = await latchkey.api.login({ email: 'a@example.com', password: 'x' }, { client: '192.0.2.1' });
if (login.kind === 'ok') {
  const token: string = login.session.token;
  // @ts-expect-error the api's login answers with the public view too
  const hash: string = login.user.passwordHash;
  void [token, hash];
} else if (login.kind === 'throttled') {
  const seconds: number = login.retryAfterSeconds;
  void seconds;
}
const registered: RegisterOutcome = await latchkey.api.register({ email: 'a@example.com', password: 'x' });
// @ts-expect-error register answers the same for every address: no 'exists'
if (registered.kind === 'exists') void registered;
`,
    );
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    const checked = await run(process.execPath, [tsc, '-p', join(app, 'tsconfig.json'), '--strict', '--noEmit']).catch((error: { stdout: string; stderr: string; code: number }) => error);
    expect(checked.stdout + checked.stderr).toBe('');
    rmSync(join(app, 'src/types-bite.ts'));
  });

  it('runs the story in Node: register → link → activate → login → /api/me → logout → 401', async () => {
    const { createNodeApp } = (await import(pathToFileURL(join(app, 'src/node.ts')).href)) as ExampleNodeEntry;
    const mails: Mail[] = [];
    // No lookups from a test: the range API is tests/breached-passwords.test.ts's subject.
    const host = await createNodeApp({ origin: 'https://host.example', transport: { name: 'log', send: async (mail) => void mails.push(mail) }, breachedPasswords: { check: 'off' } });
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      host.request(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
    const email = 'grace@example.com';
    const password = 'a long enough passphrase for this';

    expect((await post('/auth/register', { email, password })).status).toBe(202);
    // The mail goes out after the answer: wait for it, however long the machine takes.
    await expect.poll(() => mails.length, { timeout: 10_000, interval: 10 }).toBe(1);
    const link = new URL(mails[0]!.link!);
    expect(link.origin + link.pathname).toBe('https://host.example/auth/activate');
    expect((await post('/auth/activate', { token: link.searchParams.get('token'), password })).status).toBe(200);
    const login = await post('/auth/login', { email, password });
    expect(login.status).toBe(200);
    const { token } = ((await login.json()) as { session: { token: string } }).session;

    const me = await host.request('/api/me', { headers: { Authorization: `Bearer ${token}` } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { user: Record<string, string>; session: Record<string, string> };
    expect(Object.keys(body.user).sort()).toEqual(['activatedAt', 'createdAt', 'email', 'id']);
    expect(body.user.email).toBe(email);
    // The example's own row, written by its onActivated hook before /auth/activate answered.
    expect(body).toMatchObject({ profile: { email, plan: 'free' } });
    expect(JSON.stringify(body)).not.toMatch(/scrypt|token/);
    const byCookie = await host.request('/api/me', { headers: { Cookie: `__Host-session=${token}` } });
    expect(((await byCookie.json()) as typeof body).user.id).toBe(body.user.id);

    // Its own login form, through latchkey.api: the same account, a session of its own.
    const form = (fields: Record<string, string>) => host.request('/api/login', { method: 'POST', body: new URLSearchParams(fields) });
    expect((await form({ email, password: 'not the password at all' })).status).toBe(401);
    const viaApi = await form({ email, password });
    expect(viaApi.status).toBe(200);
    const apiToken = ((await viaApi.json()) as { token: string }).token;
    expect((await host.request('/api/me', { headers: { Authorization: `Bearer ${apiToken}` } })).status).toBe(200);

    expect((await host.request('/auth/logout', { method: 'POST', headers: { Authorization: `Bearer ${token}` } })).status).toBe(204);
    const after = await host.request('/api/me', { headers: { Authorization: `Bearer ${token}` } });
    expect(after.status).toBe(401);
    expect(after.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
    expect(after.headers.get('content-type')).toBe('application/problem+json');
  });

  it("is the README's code block under \"Use it in your Hono app\", to the letter", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Use it in your Hono app'));
    const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(block).toBe(readFileSync(join(example, 'src/app.ts'), 'utf8'));
  });
});
