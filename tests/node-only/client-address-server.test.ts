/**
 * The Node server over a real socket: the client address is the peer's, X-Forwarded-For counts
 * only from TRUSTED_PROXIES (and from any other peer it is reported once), and no banner headers go out.
 */
import { serve, type ServerType } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createLatchkey, optionsFromEnv } from '../../functions/latchkey.ts';
import { nodeClientAddress } from '../../functions/server.ts';
import type { ConfigVars } from '../../lib/config/config.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { FAST_SCRYPT, NO_LOOKUPS, PUBLIC_URL } from '../support/harness.ts';

const migrations = readMigrations(new URL('../../migrations', import.meta.url).pathname);
const servers: ServerType[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function start(vars: ConfigVars) {
  const settings = optionsFromEnv({ PUBLIC_URL, ...FAST_SCRYPT, ...NO_LOOKUPS, ...vars });
  const events: Array<Record<string, unknown>> = [];
  const { app } = createLatchkey({
    ...settings,
    database: await openSqlJsDatabase({ migrations }),
    transport: { name: 'log', send: async () => undefined },
    log: (event, fields) => void events.push({ event, ...fields }),
    clientAddress: nodeClientAddress(settings, (event, fields) => void events.push({ event, ...fields })),
  });
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  const login = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${port}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...headers },
      body: JSON.stringify({ email: 'who@example.com', password: 'not the password at all' }),
    });
  return { events, login };
}

describe('client address on the Node server', () => {
  it('is the socket peer; a forged X-Forwarded-For neither changes it nor escapes the limit', async () => {
    const { events, login } = await start({ LIMIT_LOGIN_PER_CLIENT: '2/600' });
    const statuses = [];
    for (const forged of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) {
      const res = await login({ 'X-Forwarded-For': forged, 'CF-Connecting-IP': forged });
      expect(res.headers.get('x-powered-by')).toBeNull();
      expect(res.headers.get('server')).toBeNull();
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses).toEqual([401, 401, 429]);
    const requests = events.filter((e) => e.event !== 'proxy_not_trusted');
    expect(new Set(requests.map((e) => e.client))).toEqual(new Set(['127.0.0.1']));
  });

  it('says once per process that a peer not in TRUSTED_PROXIES sent X-Forwarded-For, and how to fix it', async () => {
    const { events, login } = await start({});
    for (const forwarded of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) await (await login({ 'X-Forwarded-For': forwarded })).arrayBuffer();
    await (await login()).arrayBuffer();
    const warnings = events.filter((e) => e.event === 'proxy_not_trusted');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ peer: '127.0.0.1' });
    expect(String(warnings[0]!.detail)).toContain('every client behind it now counts as 127.0.0.1 and shares one per-client allowance: set TRUSTED_PROXIES=127.0.0.1');
    expect(events.findIndex((e) => e.event === 'proxy_not_trusted')).toBe(0); // at the first such request
  });

  it('believes X-Forwarded-For from a trusted proxy', async () => {
    const { events, login } = await start({ TRUSTED_PROXIES: '127.0.0.1', LIMIT_LOGIN_PER_CLIENT: '1/600' });
    expect((await login({ 'X-Forwarded-For': '198.51.100.1' })).status).toBe(401);
    expect((await login({ 'X-Forwarded-For': '198.51.100.2' })).status).toBe(401);
    expect((await login({ 'X-Forwarded-For': '198.51.100.2' })).status).toBe(429);
    expect(events.map((e) => e.client)).toEqual(['198.51.100.1', '198.51.100.2', '198.51.100.2']);
    expect(events.some((e) => e.event === 'proxy_not_trusted')).toBe(false);
  });
});
