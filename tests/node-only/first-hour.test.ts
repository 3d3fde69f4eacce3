/**
 * Issue 12's measurement as a test: a developer's integration run (40 registrations, activations
 * and logins from one client, links from the development mailbox) against the real `npm start`
 * with its default localhost PUBLIC_URL, twice in a row with a restart between, gets no 429; the
 * per-address mail allowance still holds (the same 202, no mail past it). With a public PUBLIC_URL the per-client allowance
 * is back, exactly as before. (tests/node-only/dev-edge-running.test.ts does the same on dev:edge.)
 */
import { describe, expect, it } from 'vitest';
import { firstHour, mailAllowance, PASSWORD } from '../../scripts/first-hour.ts';
import { freePort } from '../../scripts/support/server-process.ts';
import { serversForEachTest } from '../support/servers-per-test.ts';

const { npmStart, stop, databasePath: newDatabase } = serversForEachTest();
const databasePath = () => newDatabase('latchkey-first-hour-');

const ALL_WELL = { 'register 202': 40, 'activate 200': 40, 'login 200': 40 };

describe('a developer\'s first hour against npm start', () => {
  it('localhost: 40 accounts from one client, twice with a restart, no 429; the mail allowance still holds', { timeout: 120_000 }, async () => {
    const env = { DATABASE_PATH: databasePath(), PORT: String(await freePort()), PUBLIC_URL: '' };
    let server = await npmStart(env);
    const started = await server.waitForLine((l) => l.event === 'server_started');
    expect(started).toMatchObject({ mode: 'development', mailbox: `http://localhost:${env.PORT}/dev/mail` });
    expect(String(started.modeNote)).toContain('per-client allowances default to off');

    const first = await firstHour(server.url, { prefix: 'first' });
    expect(first.answers).toEqual(ALL_WELL);

    // Run the suite again at once, against a restarted server on the same database.
    await stop(server);
    server = await npmStart(env);
    const second = await firstHour(server.url, { prefix: 'second' });
    expect(second.answers).toEqual(ALL_WELL);

    // The per-address allowance is on: the sixth registration of one address within the hour gets
    // the same 202 but no mail.
    expect(await mailAllowance(server.url, 'bombed@example.com')).toEqual({ statuses: [202, 202, 202, 202, 202, 202], mails: 5 });
    const throttled = server.lines.filter((l) => l.event === 'throttled');
    expect(throttled.map((l) => l.rule)).toEqual(['mail']);
    console.log(`first-hour on npm start (fast scrypt): ${first.elapsedMs} ms, then ${second.elapsedMs} ms after a restart`);
  });

  it('a public PUBLIC_URL: the 21st registration from one client is refused, as before', { timeout: 60_000 }, async () => {
    const server = await npmStart({ DATABASE_PATH: databasePath(), PUBLIC_URL: 'https://accounts.example.test' });
    expect(await server.waitForLine((l) => l.event === 'server_started')).toMatchObject({ mode: 'production' });
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) {
      const res = await fetch(`${server.url}/register`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: `p${i}@example.com`, password: PASSWORD }),
      });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    expect(statuses.slice(0, 20).every((s) => s === 202)).toBe(true);
    expect(statuses[20]).toBe(429);
    expect((await fetch(`${server.url}/dev/mail`)).status).toBe(404);
  });
});
