/**
 * Figure 10: a person far from the database. On Workers every D1 query is a round trip from the
 * isolate to the primary (tens of milliseconds nearby, 100-300 ms from another continent), so a
 * flow's latency is its hash plus its trips times that distance. Here the in-process app runs over
 * sql.js with every trip (a first/all/run, or a whole batch) held back by a set delay, one request
 * at a time, and the median is compared with two sums measured in the same run:
 *   - its own trips: p50 at no delay + trips × delay (≈ 1 says the delay is all the distance costs);
 *   - the two-trip floor (issue 27): p50 at no delay + 2 × delay, the most a flow that hashes needs.
 * The ratio to the floor is the figure that issue 27's target (≤ 1.1) is about.
 */
import type { Database, RunResult, SqlValue, Statement } from '../lib/storage/db.ts';
import { inProcessApp, type InProcessApp } from './in-process.ts';

const PASSWORD = 'correct horse battery staple';
export const DISTANCES_MS = [0, 20, 100] as const;

export interface DistanceFigure {
  flow: 'login, right password' | 'registration';
  delayMs: number;
  /** Trips one request of the flow made (counted by the delaying database). */
  trips: number;
  p50: number;
  /** p50 of the same flow with no delay, same run. */
  nearP50: number;
}

const pause = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

// A batch needs the driver's own statements: the wrapper remembers which inner statement each of its
// statements stands for.
const innerOf = new WeakMap<Statement, Statement>();

/** The database, each trip waiting `delay.ms` before it goes; `delay.trips` counts them. */
function farDatabase(db: Database, delay: { ms: number; trips: number }): Database {
  const wrap = (inner: Statement): Statement => {
    const self: Statement = {
      bind: (...values: SqlValue[]) => wrap(inner.bind(...values)),
      async first<T>() {
        delay.trips += 1;
        await pause(delay.ms);
        return inner.first<T>();
      },
      async all<T>() {
        delay.trips += 1;
        await pause(delay.ms);
        return inner.all<T>();
      },
      async run() {
        delay.trips += 1;
        await pause(delay.ms);
        return inner.run();
      },
    };
    innerOf.set(self, inner);
    return self;
  };
  return {
    prepare: (sql) => wrap(db.prepare(sql)),
    async batch(statements): Promise<RunResult[]> {
      delay.trips += 1;
      await pause(delay.ms);
      return db.batch(statements.map((s) => innerOf.get(s)!));
    },
  };
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * `rounds` of each flow at each distance, the distances interleaved round by round so that a busy
 * moment of the machine falls on all of them alike. Production scrypt parameters (the hash is the
 * part of a flow's time that distance does not change).
 */
export async function distanceFigures(rounds: number): Promise<DistanceFigure[]> {
  const delay = { ms: 0, trips: 0 };
  let clock = Date.UTC(2026, 0, 15);
  const app: InProcessApp = await inProcessApp(
    // No per-client window in the way: one client makes every request here.
    { LIMIT_REGISTER_PER_CLIENT: '1000000/600', LIMIT_LOGIN_PER_CLIENT: '1000000/600', LIMIT_ACTIVATE_PER_CLIENT: '1000000/600' },
    () => (clock += 1000),
    (db) => farDatabase(db, delay),
  );
  await app.activeAccount('far@example.com', PASSWORD);
  const samples = new Map<string, { trips: number; ms: number[] }>();
  const time = async (flow: DistanceFigure['flow'], ms: number, act: () => Promise<Response>, expect: number) => {
    delay.ms = ms;
    delay.trips = 0;
    const began = performance.now();
    const res = await act();
    // Counted before anything else runs: the courier starts its send on a later turn of the loop.
    const trips = delay.trips;
    await res.arrayBuffer();
    const took = performance.now() - began;
    delay.ms = 0;
    // The mail the registration queued goes after the answer; it is not the flow's time.
    await app.settled();
    if (res.status !== expect) throw new Error(`${flow} at ${ms} ms answered ${res.status}`);
    const key = `${flow}|${ms}`;
    const entry = samples.get(key) ?? { trips, ms: [] };
    entry.ms.push(took);
    samples.set(key, entry);
  };
  let n = 0;
  // One of each first, unmeasured, so that no figure pays for compiling code.
  await app.post('/login', { email: 'far@example.com', password: PASSWORD });
  await app.post('/register', { email: 'warm@example.com', password: PASSWORD });
  await app.settled();
  for (let round = 0; round < rounds; round++) {
    for (const ms of DISTANCES_MS) {
      await time('login, right password', ms, () => app.post('/login', { email: 'far@example.com', password: PASSWORD }), 200);
      await time('registration', ms, () => app.post('/register', { email: `far-${n++}@example.com`, password: PASSWORD }), 202);
    }
  }
  const out: DistanceFigure[] = [];
  for (const flow of ['login, right password', 'registration'] as const) {
    const near = median(samples.get(`${flow}|0`)!.ms);
    for (const ms of DISTANCES_MS) {
      const s = samples.get(`${flow}|${ms}`)!;
      out.push({ flow, delayMs: ms, trips: s.trips, p50: median(s.ms), nearP50: near });
    }
  }
  return out;
}
