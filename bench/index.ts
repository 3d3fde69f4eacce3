/**
 * `npm run bench` entry: the benchmark (bench/bench.ts), or with `--soak` the soak test
 * (bench/soak.ts). Each reads its own options from the rest of the command line.
 */
export {};

const soak = process.argv.indexOf('--soak');
if (soak >= 0) {
  process.argv.splice(soak, 1);
  await import('./soak.ts');
} else {
  await import('./bench.ts');
}
