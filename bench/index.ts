/**
 * `npm run bench` entry: the benchmark (bench/bench.ts), or with `--soak` the soak test
 * (bench/soak.ts). Each reads its own options from the rest of the command line.
 */
import { sizeThreadpool } from '../lib/config/threadpool-size.ts';

// The hash-bound reference hashes in this process: its thread pool gets the threads the server's
// gets (functions/start.ts), before anything uses it. The servers it starts inherit the setting.
sizeThreadpool(process.env);

const soak = process.argv.indexOf('--soak');
if (soak >= 0) {
  process.argv.splice(soak, 1);
  await import('./soak.ts');
} else {
  await import('./bench.ts');
}
