/**
 * The development mailbox shows live activation and reset links, so it is for this machine only
 * (README, Development mode). A server listening on every interface (HOST=0.0.0.0) is reachable
 * from the network; a peer there that claims to be 127.0.0.1 in X-Forwarded-For (or any other
 * header) must still be told 404, because the client address is the socket's peer unless that
 * peer is a listed proxy (lib/http/client-address.ts). Three views: the real `npm start` reached
 * over this machine's own non-loopback address (a real socket whose peer is not loopback); the app
 * with the Node server's own nodeClientAddress fed a socket from peers this machine cannot be (the
 * seam is the `incoming.socket` that @hono/node-server's getConnInfo reads); and the same behind a
 * listed proxy, where only the hop the proxy saw counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLatchkey, optionsFromEnv } from '../../functions/latchkey.ts';
import { nodeClientAddress } from '../../functions/server.ts';
import { memoryMailbox } from '../../lib/mail/mailbox.ts';
import { readMigrations } from '../../lib/storage/sqljs/migrations.ts';
import { openSqlJsDatabase } from '../../lib/storage/sqljs/open.ts';
import { FAST_SCRYPT, GOOD_PASSWORD } from '../support/harness.ts';
import { freePort, startServer, type ServerProcess } from '../../scripts/support/server-process.ts';

/** Every way a client might try to say "I am this machine". */
const LOOPBACK_CLAIMS: Array<Record<string, string>> = [
  {},
  { 'X-Forwarded-For': '127.0.0.1' },
  { 'X-Forwarded-For': '::1' },
  { 'X-Forwarded-For': '127.0.0.1, 127.0.0.1' },
  { 'X-Real-IP': '127.0.0.1' },
  { 'CF-Connecting-IP': '127.0.0.1' },
  { Forwarded: 'for=127.0.0.1' },
  { 'X-Forwarded-For': '127.0.0.1', 'CF-Connecting-IP': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for="[::1]"' },
];

const servers: ServerProcess[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** An address of this machine that is not loopback, so that a connection to it comes from it. */
function ownNetworkAddress(): string {
  const found = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === 'IPv4');
  if (!found) throw new Error('this test needs a network interface other than loopback (an IPv4 address on eth0, say) to play a peer on the network');
  return found.address;
}

describe('the development mailbox is for this machine only, whatever a peer claims', () => {
  it('npm start on HOST=0.0.0.0: a peer on the network gets 404 with X-Forwarded-For: 127.0.0.1; loopback gets the mailbox', { timeout: 60_000 }, async () => {
    const peer = ownNetworkAddress();
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-mailbox-peer-'));
    dirs.push(dir);
    const port = String(await freePort());
    const server = await startServer({ HOST: '0.0.0.0', PORT: port, PUBLIC_URL: '', DATABASE_PATH: join(dir, 'accounts.sqlite') });
    servers.push(server);
    expect(await server.waitForLine((l) => l.event === 'server_started')).toMatchObject({ mode: 'development' });

    const register = await fetch(`${server.url}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'ada@example.com', password: GOOD_PASSWORD }),
    });
    expect(register.status).toBe(202);
    await server.waitForLine((l) => l.event === 'mail');

    const local = await fetch(`${server.url}/dev/mail`);
    expect(local.status).toBe(200);
    expect(await local.text()).toContain('token=');

    for (const headers of LOOPBACK_CLAIMS) {
      const from = `http://${peer}:${port}`;
      const res = await fetch(`${from}/dev/mail`, { headers });
      expect(res.status, JSON.stringify(headers)).toBe(404);
      expect(await res.text()).not.toContain('token=');
      expect(await (await fetch(`${from}/`, { headers })).text(), JSON.stringify(headers)).not.toContain('dev/mail');
    }
    // The server saw the peer as what it is, and said once that it ignored the forwarded header.
    expect(server.lines.find((l) => l.event === 'proxy_not_trusted')).toMatchObject({ peer });
  });

  /** The app as `npm start` wires it, with a database and a mailbox, and TRUSTED_PROXIES as given. */
  async function appWith(trustedProxies?: string) {
    const settings = optionsFromEnv({ PUBLIC_URL: 'http://localhost:8787', ...FAST_SCRYPT, ...(trustedProxies ? { TRUSTED_PROXIES: trustedProxies } : {}) });
    const { app } = createLatchkey({
      ...settings,
      database: await openSqlJsDatabase({ migrations: readMigrations(new URL('../../migrations', import.meta.url).pathname) }),
      transport: { name: 'log', send: async () => undefined },
      mailbox: memoryMailbox(),
      log: () => undefined,
      clientAddress: nodeClientAddress(settings),
    });
    // What @hono/node-server hands the app for a request from `remoteAddress` (its getConnInfo reads it).
    return (remoteAddress: string, headers: Record<string, string> = {}) =>
      Promise.resolve(app.request('/dev/mail', { headers }, { incoming: { socket: { remoteAddress, remotePort: 50000, remoteFamily: remoteAddress.includes(':') ? 'IPv6' : 'IPv4' } } }));
  }

  it("the app with the Node server's client address: any peer but loopback gets 404, whatever it forwards", async () => {
    const from = await appWith();

    for (const loopback of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) expect((await from(loopback)).status, loopback).toBe(200);
    for (const peer of ['192.0.2.2', '10.0.0.7', '2001:db8::5', '::ffff:192.0.2.2']) {
      for (const headers of LOOPBACK_CLAIMS) expect((await from(peer, headers)).status, `${peer} ${JSON.stringify(headers)}`).toBe(404);
    }
  });

  it('a tunnel or reverse proxy on this machine that TRUSTED_PROXIES does not list: the clients it relays from the network get 404', async () => {
    // ngrok, cloudflared or a local nginx connect from 127.0.0.1 and name the real client in a
    // forwarding header. Unlisted, the proxy is the client address, which is loopback: without a
    // look at those headers, anyone on the internet who finds the tunnel's URL reads the links.
    const from = await appWith();
    const relayed: Array<Record<string, string>> = [
      { 'X-Forwarded-For': '198.51.100.7' },
      { 'X-Forwarded-For': '127.0.0.1, 198.51.100.7' },
      { 'X-Forwarded-For': '2001:db8::9' },
      { 'X-Real-IP': '198.51.100.7' },
      { Forwarded: 'for=198.51.100.7;proto=https' },
      { Forwarded: 'for="[2001:db8::9]:4711"' },
      { Forwarded: 'for=unknown' },
      { 'X-Forwarded-For': 'not an address' },
      // Relays that name the far client elsewhere (Akamai, Cloudflare Enterprise, Fastly, others),
      // on Node CF-Connecting-IP too, or that only say they are there (Via, X-Forwarded-Host/-Proto).
      { 'True-Client-IP': '198.51.100.7' },
      { 'X-Client-IP': '198.51.100.7' },
      { 'Fastly-Client-IP': '198.51.100.7' },
      { 'CF-Connecting-IP': '198.51.100.7' },
      { Via: '1.1 cloudflared' },
      { 'X-Forwarded-Host': 'abc.ngrok.app' },
      { 'X-Forwarded-Proto': 'https' },
      // A relay's word that the client is this machine cannot be checked either.
      { 'X-Forwarded-For': '127.0.0.1' },
      { Forwarded: 'for="[::1]"' },
      { 'X-Real-IP': '::1' },
      { 'CF-Connecting-IP': '127.0.0.1' },
    ];
    for (const headers of relayed) expect((await from('127.0.0.1', headers)).status, JSON.stringify(headers)).toBe(404);
    // A plain port forward (ssh -L, socat, a router) adds no header at all: this app cannot tell it
    // from a browser on this machine, which is why the README says never to forward a development server.
    expect((await from('127.0.0.1')).status).toBe(200);
  });

  it('behind proxies: a peer that TRUSTED_PROXIES does not list is itself the client; a listed proxy makes the hop it saw the client, not what the client wrote left of it', async () => {
    const from = await appWith('10.0.0.0/8');
    for (const headers of LOOPBACK_CLAIMS) expect((await from('192.0.2.2', headers)).status, `unlisted ${JSON.stringify(headers)}`).toBe(404);
    // A listed proxy appends the address it saw; whatever the client sent stays to its left.
    for (const forwarded of ['127.0.0.1, 198.51.100.7', '::1, 127.0.0.1, 198.51.100.7', '198.51.100.7', '127.0.0.1, 198.51.100.7, 10.0.0.9']) {
      expect((await from('10.0.0.5', { 'X-Forwarded-For': forwarded })).status, forwarded).toBe(404);
    }
    // Even a listed proxy that says its client is 127.0.0.1: that is the proxy's machine, or its word only.
    expect((await from('10.0.0.5', { 'X-Forwarded-For': '127.0.0.1' })).status).toBe(404);
  });
});
