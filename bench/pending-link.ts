/**
 * The pending registrations the benchmarks seed (bench/seed.ts) and whose activation page they ask
 * for: kept apart from the seeding so that the bare reference server (bench/hello-server.ts) can
 * render the same page without loading a database.
 */

/** The link token of the pending registration whose page the benchmarks ask for. */
export const BENCH_PAGE_TOKEN = 'bench-page-token'.padEnd(43, 'p');

/** The address of the j-th pending registration (SeedSpec.pendingTokens). */
export const pendingEmail = (index: number) => `pending${index}@bench.example`;
