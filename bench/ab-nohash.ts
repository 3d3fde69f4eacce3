// Scratch: hello vs /health, alternating (not part of the bench).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLoad } from './load.ts';
import { seedDatabase } from './seed.ts';
import { startBareHono, startLatchkeyNode } from './servers.ts';
const temp = mkdtempSync(join(tmpdir(), 'ab-'));
const path = join(temp, 'db.sqlite');
await seedDatabase({ path, accounts: 10, accountHash: '$scrypt$ln=4,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', pendingTokens: ['P'.repeat(43)] });
const hello = await startBareHono();
const node = await startLatchkeyNode(path);
const paths = (process.argv[2] ?? '/health').split(',');
try {
  for (let i = 0; i < 3; i++) {
    const h = await runLoad({ url: hello.url, path: '/', connections: 16, seconds: 2, expect: [200], serverCpu: hello.cpuSeconds });
    const out = [`hello ${h.rps.toFixed(0)} ${h.cpuMicros?.toFixed(0)}us`];
    for (const p of paths) {
      const post = p.startsWith('POST ');
      const r = await runLoad({ url: node.url, path: post ? p.slice(5) : p, method: post ? 'POST' : 'GET', body: post ? JSON.stringify({ token: 'A'.repeat(43) }) : undefined, connections: 16, seconds: 2, expect: [200, 400], serverCpu: node.cpuSeconds });
      out.push(`${p.slice(0, 12)} ${r.rps.toFixed(0)} (${(r.rps / h.rps).toFixed(2)}) ${r.cpuMicros?.toFixed(0)}us (${(h.cpuMicros! / r.cpuMicros!).toFixed(2)})`);
    }
    console.log(out.join(' | '));
  }
} finally {
  await hello.stop(); await node.stop(); rmSync(temp, { recursive: true });
}
