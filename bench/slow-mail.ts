/**
 * Figure 9: does a slow mail server slow the answers? Two Node servers as `npm start` runs them,
 * each sending its mail by SMTP to a relay on 127.0.0.1: one relay takes each mail at once, the
 * other only after two seconds. Registrations (each mails) at 4 connections against each, the two
 * interleaved round by round; the figure is the slow side's p50 over the fast side's. The mail
 * leaves the outbox after the answer, so the target is ≤ 1.1. The cheap scrypt setting, so that
 * whatever the mail costs is not hidden behind a hash.
 *
 *   node --disable-warning=ExperimentalWarning bench/slow-mail.ts [rounds]   (alone, about a minute)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { mergeLoads, runLoad, type LoadResult } from './load.ts';
import { CHEAP_SCRYPT } from './no-hash.ts';
import { startLatchkeyNode } from './servers.ts';

export const SLOW_SMTP_MS = 2000;
const CONNECTIONS = 4;
const PASSWORD = 'correct horse battery staple';

export interface SlowMail {
  fast: LoadResult;
  slow: LoadResult;
  /** Mails each relay had taken when the runs ended (the slow one lags by design). */
  delivered: { fast: number; slow: number };
}

/** A plain SMTP relay on loopback that takes each mail after `delayMs`, and counts them. */
async function relay(delayMs: number) {
  let delivered = 0;
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    closeTimeout: 100,
    onData(stream, _session, callback) {
      stream.resume();
      stream.on('end', () =>
        setTimeout(() => {
          delivered++;
          callback();
        }, delayMs),
      );
    },
  });
  // A client that closes its connection hard once its mail is in (the reply to QUIT still on its
  // way) shows here as an 'error' event: a relay goes on serving, and the figure counts mails taken.
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    delivered: () => delivered,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export async function slowMailFigures(rounds: number, perRound: number): Promise<SlowMail> {
  const temp = mkdtempSync(join(tmpdir(), 'latchkey-slow-mail-'));
  const relays = { fast: await relay(0), slow: await relay(SLOW_SMTP_MS) };
  const serverFor = (which: 'fast' | 'slow') =>
    startLatchkeyNode(join(temp, `${which}.sqlite`), {
      ...CHEAP_SCRYPT,
      MAIL_TRANSPORT: 'smtp',
      SMTP_URL: `smtp://127.0.0.1:${relays[which].port}`,
      MAIL_FROM: 'Latchkey <no-reply@bench.example>',
    });
  const servers = { fast: await serverFor('fast'), slow: await serverFor('slow') };
  try {
    let n = 0;
    const runs: Record<'fast' | 'slow', LoadResult[]> = { fast: [], slow: [] };
    const round = (which: 'fast' | 'slow') =>
      runLoad({
        url: servers[which].url,
        path: '/register',
        method: 'POST',
        connections: CONNECTIONS,
        amount: perRound,
        nextBody: () => JSON.stringify({ email: `m${n++}@mail.example`, password: PASSWORD }),
        expect: [202],
      });
    // A first round each that is not counted: compiling, the first SMTP connections.
    await round('fast');
    await round('slow');
    for (let i = 0; i < rounds; i++) {
      runs.fast.push(await round('fast'));
      runs.slow.push(await round('slow'));
    }
    return { fast: mergeLoads(runs.fast), slow: mergeLoads(runs.slow), delivered: { fast: relays.fast.delivered(), slow: relays.slow.delivered() } };
  } finally {
    await Promise.all([servers.fast.stop(), servers.slow.stop()]);
    await Promise.all([relays.fast.close(), relays.slow.close()]);
    rmSync(temp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rounds = Number(process.argv[2] ?? 3);
  const { fast, slow, delivered } = await slowMailFigures(rounds, 200);
  const line = (name: string, r: LoadResult) => `${name}: ${r.requests} registrations, p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, unexpected ${r.unexpected}`;
  process.stdout.write(`${line('fast SMTP', fast)}\n${line(`SMTP taking ${SLOW_SMTP_MS} ms a mail`, slow)}\n`);
  process.stdout.write(`p50 ratio slow ÷ fast: ${(slow.p50 / fast.p50).toFixed(3)} (target ≤ 1.1); mails taken so far: fast ${delivered.fast}, slow ${delivered.slow}\n`);
}
