/**
 * The logins the bench sends, and its timing rows (figures 2 and 6): one login at a time, the three
 * branches (right password, wrong password, unknown address) taking turns in a shuffled order each
 * round, so that all three see the same moments of the machine. Given several servers (this
 * checkout's and another's: bench/login-timing-ab.ts), they take turns too, so that their figures
 * compare.
 *
 * Logins back off per address (lib/storage/throttle.ts; an attempt counts until it succeeds): every
 * branch spreads over the seeded accounts (all with the same password) or over as many unknown
 * addresses, so that no address is throttled and every request does the work of its branch.
 */
export const SEEDED_ACCOUNTS = 1000;
export const PASSWORD = 'correct horse battery staple';
const WRONG_PASSWORD = 'purple elephants dance at noon';

let failing = 0;
let succeeding = 0;
export const loginBody = {
  right: () => JSON.stringify({ email: `user${(succeeding++ % SEEDED_ACCOUNTS) + 1}@seed.example`, password: PASSWORD }),
  wrong: () => JSON.stringify({ email: `user${(failing++ % SEEDED_ACCOUNTS) + 1}@seed.example`, password: WRONG_PASSWORD }),
  unknown: () => JSON.stringify({ email: `nobody${failing++}@bench.example`, password: PASSWORD }),
};
export const loginExpect = { right: [200], wrong: [401], unknown: [401] };
export type Branch = keyof typeof loginBody;
export type Timing = Record<Branch, { p50: number; samples: number[] }>;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Each server's samples and medians by branch, in the order of `urls`; `warn` hears of an unexpected status. */
export async function timingFigures(urls: string[], rounds: number, warn: (message: string) => void): Promise<Timing[]> {
  const samples = urls.map((): Record<Branch, number[]> => ({ right: [], wrong: [], unknown: [] }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, url] of urls.entries()) {
      const order = (Object.keys(loginBody) as Branch[]).sort(() => Math.random() - 0.5);
      for (const branch of order) {
        const t = performance.now();
        const res = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: loginBody[branch]() });
        await res.arrayBuffer();
        samples[i]![branch].push(performance.now() - t);
        if (!loginExpect[branch].includes(res.status)) warn(`timing ${branch}: status ${res.status}`);
      }
    }
  }
  return samples.map((s) => ({
    right: { p50: median(s.right), samples: s.right },
    wrong: { p50: median(s.wrong), samples: s.wrong },
    unknown: { p50: median(s.unknown), samples: s.unknown },
  }));
}
