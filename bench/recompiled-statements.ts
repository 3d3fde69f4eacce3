/**
 * Which of the application's statements SQLite compiles again on every run under sql.js: the app
 * in process runs most flows (register, the link pages, activation, logins, sessions, devices,
 * resend, forgot and reset, the change of password and of address, the account's deletion), every
 * statement is written down with the values it was bound to, and each one is then timed on plain
 * sql.js with the schema, as a kept statement is run (bind, step, reset), as written and with its
 * parameters opaque (lib/storage/sqljs/statements.ts opaqueParameters), in interleaved blocks. A
 * statement many times slower as written is being compiled again on each run.
 *
 *   node --disable-warning=ExperimentalWarning bench/recompiled-statements.ts
 */
import { recording, schemaDatabase, type SeenStatements } from '../scripts/support/statement-survey.ts';
import { opaqueParameters } from '../lib/storage/sqljs/statements.ts';
import { inProcessApp } from './in-process.ts';

const PASSWORD = 'correct horse battery staple';
const OTHER = 'purple elephants dance at noon';
const seen: SeenStatements = new Map();

let clock = Date.UTC(2026, 0, 15);
const app = await inProcessApp({ SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1', LIMIT_LOGIN_PER_CLIENT: 'off' }, () => (clock += 1000), (db) => recording(db, seen));
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const tokenOf = async (res: Response) => ((await res.json()) as { session: { token: string } }).session.token;
const linkToken = () => app.lastToken();

await app.post('/register', { email: 'pending@example.com', password: PASSWORD });
await app.settled();
await app.get(`/activate?token=${linkToken()}`);
await app.post('/activate', { token: 'A'.repeat(43), password: PASSWORD });
await app.post('/resend-activation', { email: 'pending@example.com' });
await app.activeAccount('active@example.com', PASSWORD);
await app.post('/login', { email: 'active@example.com', password: OTHER });
await app.post('/login', { email: 'nobody@example.com', password: PASSWORD });
const session = await tokenOf(await app.post('/login', { email: 'active@example.com', password: PASSWORD }));
const other = await tokenOf(await app.post('/login', { email: 'active@example.com', password: PASSWORD }));
await app.get('/session', bearer(session));
clock += 3_600_000;
await app.get('/session', bearer(session));
await app.get('/sessions', bearer(session));
await app.get('/devices', bearer(session));
await app.post('/logout', {}, undefined, bearer(other));
await app.post('/change-password', { currentPassword: PASSWORD, newPassword: OTHER }, undefined, bearer(session));
await app.post('/change-email', { password: OTHER, newEmail: 'moved@example.com' }, undefined, bearer(session));
await app.settled();
const confirm = linkToken();
await app.get(`/confirm-email?token=${confirm}`);
await app.post('/confirm-email', { token: confirm });
await app.post('/forgot-password', { email: 'moved@example.com' });
await app.settled();
const reset = linkToken();
await app.get(`/reset-password?token=${reset}`);
await app.post('/reset-password', { token: reset, password: PASSWORD });
const last = await tokenOf(await app.post('/login', { email: 'moved@example.com', password: PASSWORD }));
await app.post('/delete-account', { password: PASSWORD }, undefined, bearer(last));
await app.settled();

const plain = await schemaDatabase();
const BLOCK = 200;
const timed: Array<{ sql: string; written: number[]; opaque: number[] }> = [];
plain.run('BEGIN');
for (const [sql, values] of seen) {
  const written = plain.prepare(sql);
  const opaque = plain.prepare(opaqueParameters(sql));
  const entry = { sql, written: [] as number[], opaque: [] as number[] };
  for (let round = 0; round < 5; round++) {
    for (const [statement, into] of [[written, entry.written], [opaque, entry.opaque]] as const) {
      const started = performance.now();
      for (let i = 0; i < BLOCK; i++) {
        try {
          statement.bind(values as never);
          while (statement.step()) statement.get();
        } catch {
          // A write that a constraint refuses here (its row is there from the last run): still a run.
        }
        statement.reset();
      }
      into.push(((performance.now() - started) * 1000) / BLOCK);
    }
  }
  written.free();
  opaque.free();
  timed.push(entry);
}
plain.run('ROLLBACK');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const slower = timed
  .map(({ sql, written, opaque }) => ({ sql, written: median(written), opaque: median(opaque) }))
  .filter((t) => t.written >= 2.5 * t.opaque)
  .sort((a, b) => b.written / b.opaque - a.written / a.opaque);
console.log(`${seen.size} statements run by the flows; ${slower.length} at least 2.5 times slower as written than with opaque parameters:`);
for (const t of slower) console.log(`  ${(t.written / t.opaque).toFixed(1).padStart(5)}×  ${t.written.toFixed(1)} µs → ${t.opaque.toFixed(1)} µs  ${t.sql.replace(/\s+/g, ' ').slice(0, 110)}`);
