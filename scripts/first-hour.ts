/**
 * A developer's first integration run against a local server, as issue 12 measured it: N accounts
 * registered, activated (the link taken from the development mailbox, GET /dev/mail) and logged
 * in, all from one client. Used by tests/node-only/first-hour.test.ts and dev-edge-running.test.ts, and runnable by hand:
 *
 *   node --disable-warning=ExperimentalWarning scripts/first-hour.ts http://localhost:8787 [accounts]
 *
 * It prints how many answers of each kind every step got, and how long the run took.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PASSWORD = 'correct horse battery staple';

export interface FirstHourRun {
  /** "register 202" → how many times. */
  answers: Record<string, number>;
  /** Every 429, with the rule's words from its problem detail. */
  refused: string[];
  elapsedMs: number;
}

async function post(base: string, path: string, body: unknown): Promise<Response> {
  return fetch(`${base}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
}

/** The activation links to `address` on the mailbox page (GET /dev/mail), newest first. */
async function mailboxLinks(base: string, address: string): Promise<string[]> {
  const page = await (await fetch(`${base}/dev/mail`)).text();
  return [...page.matchAll(/<strong>([^<]*)<\/strong>[\s\S]*?<a href="([^"]*\/activate\?token=[^"]*)">/g)]
    .filter(([, to]) => to === address)
    .map(([, , link]) => link!);
}

/** The newest activation link to `address` on the mailbox page, waiting briefly for the mail. */
export async function linkFromMailbox(base: string, address: string, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [newest] = await mailboxLinks(base, address);
    if (newest) return newest;
    if (Date.now() > deadline) throw new Error(`no mail to ${address} in ${base}/dev/mail`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The activation step: the link's token with the password typed at registration. */
export async function activate(base: string, link: string, password: string): Promise<Response> {
  return post(base, '/activate', { token: new URL(link).searchParams.get('token'), password });
}

export async function firstHour(base: string, { accounts = 40, prefix = `run${Date.now()}` } = {}): Promise<FirstHourRun> {
  const answers: Record<string, number> = {};
  const refused: string[] = [];
  const count = async (step: string, res: Response) => {
    answers[`${step} ${res.status}`] = (answers[`${step} ${res.status}`] ?? 0) + 1;
    const text = await res.text();
    if (res.status === 429) refused.push(`${step}: ${text}`);
    return res.status;
  };
  const started = performance.now();
  for (let i = 0; i < accounts; i++) {
    const address = `${prefix}-${i}@example.com`;
    if ((await count('register', await post(base, '/register', { email: address, password: PASSWORD }))) !== 202) continue;
    const link = await linkFromMailbox(base, address);
    if ((await count('activate', await activate(base, link, PASSWORD))) !== 200) continue;
    await count('login', await post(base, '/login', { email: address, password: PASSWORD }));
  }
  return { answers, refused, elapsedMs: Math.round(performance.now() - started) };
}

/**
 * Registers `address` `tries` times from this one client: the answers, and how many activation
 * mails reached the mailbox. Past the per-address mail allowance the answer stays 202 and only
 * the mail is left out (docs/throttling.md), so the mails say where the allowance stopped.
 */
export async function mailAllowance(base: string, address: string, tries = 6): Promise<{ statuses: number[]; mails: number }> {
  const statuses: number[] = [];
  for (let i = 0; i < tries; i++) {
    const res = await post(base, '/register', { email: address, password: PASSWORD });
    statuses.push(res.status);
    await res.arrayBuffer();
  }
  // Mail is handed off after the answer: give the last one a moment to land.
  await new Promise((r) => setTimeout(r, 200));
  return { statuses, mails: (await mailboxLinks(base, address)).length };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const base = (process.argv[2] ?? 'http://localhost:8787').replace(/\/$/, '');
  const run = await firstHour(base, { accounts: Number(process.argv[3] ?? 40) });
  console.log(JSON.stringify(run));
}
