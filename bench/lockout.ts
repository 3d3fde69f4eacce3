/**
 * The lockout row of `npm run bench` (issue 13 §3): a simulation, not a load test. The app runs in
 * process over an in-memory sql.js database with a virtual clock, so that days of attack take
 * seconds; the scrypt cost is the tests' cheap one, since what is measured is who gets in, not how
 * fast.
 *
 * One attacker client, knowing only the addresses, sends a wrong guess to each account the moment
 * its back-off ends (it learns the moment from Retry-After), for the whole run. Each account's
 * owner logs in with the right password at random moments from another client, with the device
 * token from their previous login, or, for the "today" comparison, without one.
 *
 * The attacker also once knew each password (issue 23): before the run it logged in `hoarded`
 * times and kept every device token, and the owner then reset the password through the mailbox.
 * Each guess presents the next hoarded token still worth presenting; a token answered 429 is
 * dropped, since the back-off did not let it through.
 *
 *   node --disable-warning=ExperimentalWarning bench/lockout.ts [days] [accounts] [hoarded]
 */
import { DEVICE_HEADER } from '../lib/http/device-header.ts';
import { worstCaseFailures } from '../lib/policy/login-backoff.ts';
import { inProcessApp } from './in-process.ts';

const OLD_PASSWORD = 'correct horse battery staple';
const PASSWORD = 'seven quiet otters under the bridge';
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** The owner's logins arrive at random, on average this often. */
const OWNER_MEAN_GAP = 2 * HOUR;
const ATTACKER = '203.0.113.66';

export interface LockoutFigures {
  days: number;
  accounts: number;
  withDevice: boolean;
  ownerAttempts: number;
  ownerOk: number;
  attackerGuesses: number;
  /** The most guesses on one account in any 24 hours, and what the back-off allows at most. */
  mostPerDay: number;
  allowedPerDay: number;
  /** The most consecutive failures counted against one address. */
  mostInARow: number;
  /** Device tokens the attacker hoarded per account with the old password, and its guesses that presented one. */
  hoarded: number;
  hoardedTokenGuesses: number;
}

/** A small seeded generator, so that every run sees the same moments. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function lockoutFigures(days: number, accounts: number, withDevice: boolean, hoarded = 21): Promise<LockoutFigures> {
  const clock = { now: Date.UTC(2026, 0, 1) };
  // The attacker presents hoarded tokens from many clients: no per-client allowance is what stops it.
  const { db, config, post, activeAccount, lastToken, settled } = await inProcessApp({ SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1', LIMIT_LOGIN_PER_CLIENT: 'off' }, () => clock.now);

  interface Owner {
    email: string;
    from: string;
    device: string;
    ownerAt: number;
    attackerAt: number;
    guesses: number[];
    mostInARow: number;
    tokens: string[];
  }
  const next = random(13);
  const owners: Owner[] = [];
  for (let i = 0; i < accounts; i++) {
    const email = `owner${i}@bench.example`;
    const from = `198.51.100.${i + 1}`;
    await activeAccount(email, OLD_PASSWORD, from);
    // While the attacker knew the password, it logged in again and again, keeping each device token.
    const tokens: string[] = [];
    for (let t = 0; t < hoarded; t++) tokens.push(((await (await post('/login', { email, password: OLD_PASSWORD }, ATTACKER)).json()) as { device: { token: string } }).device.token);
    // The owner noticed and reset the password through the mailbox.
    await post('/forgot-password', { email }, from);
    await settled(); // the mail is sent after the answer
    const reset = await post('/reset-password', { token: lastToken(), password: PASSWORD }, from);
    if (reset.status !== 200) throw new Error(`resetting ${email} answered ${reset.status}`);
    // The owner logged in once before the attack began, from the device they will use.
    const first = (await (await post('/login', { email, password: PASSWORD }, from)).json()) as { device: { token: string } };
    owners.push({ email, from, device: first.device.token, ownerAt: clock.now + Math.round(next() * OWNER_MEAN_GAP * 2), attackerAt: clock.now, guesses: [] as number[], mostInARow: 0, tokens });
  }

  const due = (o: Owner) => Math.min(o.attackerAt, o.ownerAt);
  const start = clock.now;
  const end = start + days * DAY;
  let ownerAttempts = 0;
  let ownerOk = 0;
  let hoardedTokenGuesses = 0;
  for (;;) {
    // The earliest event of all: an attacker's guess (first, on a tie: the owner's worst moment) or an owner's login.
    const who = owners.reduce((a, b) => (due(b) < due(a) ? b : a));
    const attacker = who.attackerAt <= who.ownerAt;
    clock.now = attacker ? who.attackerAt : who.ownerAt;
    if (clock.now >= end) break;
    if (attacker) {
      const token = who.tokens[0];
      const res = await post('/login', { email: who.email, password: `guess ${who.guesses.length}` }, ATTACKER, token === undefined ? {} : { [DEVICE_HEADER]: token });
      await res.arrayBuffer();
      if (res.status === 401) {
        if (token !== undefined) hoardedTokenGuesses++;
        who.guesses.push(clock.now);
        const row = await db.prepare('SELECT hits FROM throttle WHERE key = ?').bind(`login:${who.email}`).first<{ hits: number }>();
        who.mostInARow = Math.max(who.mostInARow, row?.hits ?? 0);
        who.attackerAt = clock.now + 1000;
      } else {
        if (token !== undefined) who.tokens.shift();
        who.attackerAt = clock.now + Number(res.headers.get('retry-after') ?? 1) * 1000;
      }
    } else {
      const res = await post('/login', { email: who.email, password: PASSWORD }, who.from, withDevice ? { [DEVICE_HEADER]: who.device } : {});
      ownerAttempts++;
      if (res.status === 200) {
        ownerOk++;
        who.device = ((await res.json()) as { device: { token: string } }).device.token;
      } else {
        await res.arrayBuffer();
      }
      who.ownerAt = clock.now + Math.round(-Math.log(1 - next()) * OWNER_MEAN_GAP);
    }
  }
  db.close();

  const perDay = (ts: number[]) => Math.max(0, ...ts.map((t) => ts.filter((u) => u >= t && u < t + DAY).length));
  return {
    days,
    accounts,
    withDevice,
    ownerAttempts,
    ownerOk,
    attackerGuesses: owners.reduce((n, o) => n + o.guesses.length, 0),
    mostPerDay: Math.max(...owners.map((o) => perDay(o.guesses))),
    allowedPerDay: worstCaseFailures(config.throttle.loginFailures, 86_400),
    mostInARow: Math.max(...owners.map((o) => o.mostInARow)),
    hoarded,
    hoardedTokenGuesses,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const days = Number(process.argv[2] ?? 14);
  const accounts = Number(process.argv[3] ?? 10);
  const hoarded = Number(process.argv[4] ?? 21);
  for (const withDevice of [true, false]) console.log(JSON.stringify(await lockoutFigures(days, accounts, withDevice, hoarded)));
}
