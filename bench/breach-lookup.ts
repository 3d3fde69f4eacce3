/**
 * What the breached-password lookup costs this process (lib/policy/breached-passwords.ts): the
 * SHA-1 and the parse of a padded range (about 840 lines, as Add-Padding gives), which is the CPU
 * a Worker is billed for, and the whole lookup against a range server on 127.0.0.1, which is the
 * floor of the wait (the network to api.pwnedpasswords.com comes on top: see
 * docs/bots-and-breaches.md). `node bench/breach-lookup.ts` (a few seconds).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { breachCheck, parseRange, passwordSha1 } from '../lib/policy/breached-passwords.ts';

function range(): string {
  const lines: string[] = [];
  for (let i = 0; i < 840; i++) lines.push(`${randomBytes(20).toString('hex').toUpperCase().slice(5)}:${i % 2 ? 0 : 1 + (i % 977)}`);
  return lines.sort().join('\r\n');
}

const body = range();
const server = createServer((_, res) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(body));
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/range/`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = async (n: number, work: (i: number) => unknown) => {
  const took: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await work(i);
    took.push(performance.now() - start);
  }
  return median(took);
};

for (let i = 0; i < 200; i++) parseRange(body); // warm up
const parse = await time(500, () => parseRange(body));
const sha1 = await time(500, (i) => passwordSha1(`a password of some length ${i}`));
// Every password a prefix of its own: no cache hit, a full lookup each time.
const check = breachCheck({ check: 'pwned', url, timeoutMs: 1500 });
const lookup = await time(300, (i) => check(createHash('sha256').update(String(i)).digest('hex')));
const cached = await time(300, () => check('0'));
server.close();
console.log(JSON.stringify({ rangeLines: body.split('\r\n').length, parseMs: +parse.toFixed(3), sha1Ms: +sha1.toFixed(3), lookupLoopbackMs: +lookup.toFixed(3), cachedMs: +cached.toFixed(3) }));
