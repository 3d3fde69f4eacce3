/**
 * The sql.js driver compiles every statement with its parameters behind a unary plus
 * (lib/storage/sqljs/statements.ts opaqueParameters), so that SQLite never compiles a kept statement
 * again after sql.js clears its bindings. That is only sound if the plus changes nothing else: the
 * rewrite must leave quoted text and comments alone, and every statement the application runs must
 * get the plan it gets with its values bound plainly. The statements are gathered from the flows
 * themselves, not listed by hand, so a new statement is checked as soon as a flow runs it.
 */
import { describe, expect, it } from 'vitest';
import { opaqueParameters } from '../../lib/storage/sqljs/statements.ts';
import type { SqlValue } from '../../lib/storage/db.ts';
import { recording, schemaDatabase, type SeenStatements } from '../../scripts/support/statement-survey.ts';
import { DEVICE_HEADER } from '../../lib/http/device-header.ts';
import { purge } from '../../lib/flows/purge.ts';
import { createHarness, GOOD_PASSWORD, OTHER_PASSWORD, type Harness } from '../support/harness.ts';
import { challengeFor, codeNow, STEP_MS } from '../support/totp.ts';

describe('opaqueParameters', () => {
  it('puts a plus before each parameter, numbered or not', () => {
    expect(opaqueParameters('SELECT a FROM t WHERE b = ? AND c IN (?, ?)')).toBe('SELECT a FROM t WHERE b = +? AND c IN (+?, +?)');
    expect(opaqueParameters('UPDATE t SET a = ?2 WHERE id = ?1 AND n < ?12')).toBe('UPDATE t SET a = +?2 WHERE id = +?1 AND n < +?12');
    expect(opaqueParameters('SELECT ?1 + (?2 - ?3) LIMIT ?')).toBe('SELECT +?1 + (+?2 - +?3) LIMIT +?');
  });

  it('leaves question marks in quotes, identifiers and comments alone', () => {
    expect(opaqueParameters("SELECT 'why?' || ? FROM t")).toBe("SELECT 'why?' || +? FROM t");
    expect(opaqueParameters("SELECT 'it''s ?' , ?")).toBe("SELECT 'it''s ?' , +?");
    expect(opaqueParameters('SELECT "a?" , [b?], `c?` FROM t WHERE d = ?')).toBe('SELECT "a?" , [b?], `c?` FROM t WHERE d = +?');
    expect(opaqueParameters('SELECT ? -- what?\n, ? /* and ? */ , ?')).toBe('SELECT +? -- what?\n, +? /* and ? */ , +?');
  });
});

const ACTIVE = 'active@example.com';

/** Every kind of request there is, once or more: what each flow's statements are gathered from. */
async function everyFlow(h: Harness) {
  const token = await h.registerAndGetToken('pending@example.com');
  await h.get(`/activate?token=${token}`);
  await h.post('/activate', { token: 'A'.repeat(43), password: GOOD_PASSWORD });
  await h.post('/register', { email: 'pending@example.com', password: OTHER_PASSWORD });
  await h.post('/resend-activation', { email: 'pending@example.com' });
  await h.createActiveAccount(ACTIVE);
  await h.post('/login', { email: ACTIVE, password: OTHER_PASSWORD });
  await h.post('/login', { email: 'nobody@example.com', password: GOOD_PASSWORD });
  const first = await h.post('/login', { email: ACTIVE, password: GOOD_PASSWORD });
  expect(first.status).toBe(200);
  const { session: { token: session }, device } = (await first.json()) as { session: { token: string }; device: { token: string } };
  await h.post('/login', { email: ACTIVE, password: OTHER_PASSWORD }, { [DEVICE_HEADER]: device.token });
  await h.bearer('GET', '/session', session);
  h.clock.now += 3_600_000;
  await h.bearer('GET', '/session', session);
  const other = await h.logIn(ACTIVE);
  await h.bearer('GET', '/sessions', session);
  await h.bearer('DELETE', `/sessions/${other.split('.')[0]}`, session);
  const listed = await h.bearer('GET', '/devices', session);
  expect(listed.status).toBe(200);
  const devices = (await listed.json()) as { devices: Array<{ id: string }> };
  await h.bearer('DELETE', `/devices/${devices.devices[0]!.id}`, session);
  await h.bearer('POST', '/change-password', session, { currentPassword: OTHER_PASSWORD, newPassword: 'a new passphrase for the story' });
  await h.bearer('POST', '/change-password', session, { currentPassword: GOOD_PASSWORD, newPassword: OTHER_PASSWORD });
  // The second factor, with the password now OTHER_PASSWORD.
  const setup = await h.bearer('POST', '/mfa/totp/setup', session, { password: OTHER_PASSWORD });
  const { secret } = (await setup.json()) as { secret: string };
  const enabled = await h.bearer('POST', '/mfa/totp/enable', session, { code: codeNow(h, secret) });
  const { recoveryCodes } = (await enabled.json()) as { recoveryCodes: string[] };
  h.clock.now += STEP_MS;
  const challenge = await challengeFor(h, ACTIVE, OTHER_PASSWORD);
  await h.post('/login/mfa', { challenge, code: '000000' });
  await h.post('/login/mfa', { challenge, code: codeNow(h, secret) });
  await h.post('/login/mfa', { challenge: await challengeFor(h, ACTIVE, OTHER_PASSWORD), recoveryCode: recoveryCodes[0] });
  h.clock.now += STEP_MS;
  await h.bearer('POST', '/mfa/recovery-codes', session, { password: OTHER_PASSWORD, code: codeNow(h, secret) });
  h.clock.now += STEP_MS;
  await h.bearer('POST', '/mfa/totp/disable', session, { password: OTHER_PASSWORD, code: codeNow(h, secret) });
  // A change of address, confirmed and undone.
  await h.bearer('POST', '/change-email', session, { password: OTHER_PASSWORD, newEmail: 'moved@example.com' });
  const linkOf = (template: string) => new URL(h.mails.filter((m) => m.template === template).at(-1)!.link!).searchParams.get('token')!;
  const confirm = linkOf('email-change');
  await h.get(`/confirm-email?token=${confirm}`);
  await h.post('/confirm-email', { token: confirm });
  const undo = linkOf('email-changed');
  await h.get(`/undo-email-change?token=${undo}`);
  await h.post('/undo-email-change', { token: undo });
  // The undo sent a reset link; then forgot, reset, and the account deleted.
  await h.post('/forgot-password', { email: ACTIVE });
  const reset = await h.forgotAndGetToken(ACTIVE);
  await h.get(`/reset-password?token=${reset}`);
  await h.post('/reset-password', { token: reset, password: GOOD_PASSWORD });
  const last = await h.logIn(ACTIVE, GOOD_PASSWORD);
  await h.bearer('POST', '/logout', await h.logIn(ACTIVE, GOOD_PASSWORD));
  await h.bearer('POST', '/delete-account', last, { password: GOOD_PASSWORD });
  await purge(h.db, h.clock.now + 400 * 86_400_000, 0, h.deps.config.sessions);
}

describe('the sql.js driver compiles each statement with opaque parameters', () => {
  it('and every statement the flows run keeps the plan its values get when bound plainly', async () => {
    const seen: SeenStatements = new Map();
    const h = await createHarness({}, (db) => recording(db, seen));
    await everyFlow(h);
    await h.later.settled();

    const plain = await schemaDatabase();
    const plan = (sql: string, values: SqlValue[]) => {
      const statement = plain.prepare(`EXPLAIN QUERY PLAN ${sql}`);
      try {
        statement.bind(values as never);
        const steps: string[] = [];
        while (statement.step()) steps.push(String(statement.get()[3]));
        return steps;
      } finally {
        statement.free();
      }
    };
    const differing: string[] = [];
    for (const [sql, values] of seen) {
      const opaque = opaqueParameters(sql);
      if (opaque === sql) continue;
      if (JSON.stringify(plan(opaque, values)) !== JSON.stringify(plan(sql, values))) differing.push(sql);
    }
    expect(differing).toEqual([]);
    // The story reached the statements that SQLite used to compile again on every run.
    const texts = [...seen.keys()].map((sql) => sql.replace(/\s+/g, ' '));
    expect(seen.size).toBeGreaterThan(100);
    for (const part of ['FROM registrations r LEFT JOIN accounts a', 'FROM sessions s JOIN mfa_totp t', 'FROM email_changes', 'INSERT INTO mail_outbox']) {
      expect(texts.some((t) => t.includes(part)), part).toBe(true);
    }
    plain.close();
  });
});
