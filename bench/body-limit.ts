/**
 * Why functions/app.ts checks a declared Content-Length itself before Hono's bodyLimit: the
 * server's CPU per request for the same small POST through each, on one bare Hono server,
 * alternating, so both see the same machine. `node bench/body-limit.ts` (about 30 s).
 */
import { runLoad } from './load.ts';
import { startBareHono } from './servers.ts';

const ROUNDS = 3;
const SECONDS = 3;
const server = await startBareHono();
const body = JSON.stringify({ token: 'A'.repeat(43), password: 'correct horse battery staple' });
const micros: Record<string, number[]> = { 'hono-body-limit': [], 'declared-length': [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const way of Object.keys(micros)) {
      const result = await runLoad({
        url: server.url,
        path: `/body/${way}`,
        method: 'POST',
        connections: 10,
        seconds: SECONDS,
        headers: { 'Content-Type': 'application/json' },
        body,
        expect: [200],
        serverCpu: () => server.cpuSeconds(),
      });
      micros[way]!.push(result.cpuMicros ?? NaN);
    }
  }
} finally {
  await server.stop();
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const stream = median(micros['hono-body-limit']!);
const declared = median(micros['declared-length']!);
console.log(`server CPU per small POST (median of ${ROUNDS} alternating ${SECONDS}s runs):`);
console.log(`  Hono bodyLimit (reads the body stream): ${stream.toFixed(1)} µs`);
console.log(`  declared Content-Length checked first:  ${declared.toFixed(1)} µs`);
console.log(`  ratio: ${(stream / declared).toFixed(2)}`);
