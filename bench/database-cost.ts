/**
 * Figure 8: what each flow costs the database, counted in process on sql.js with the same counting
 * database as tests/database-cost.test.ts (which asserts these numbers on both backends), with the
 * production limits on (every POST passes its per-client window first), and what
 * that means for one D1 primary: at *t* of the primary's time per trip it serves 1 / (trips × t)
 * of a flow per second (docs/scale.md). Counts, not timings: the same on any machine.
 */
import { counting, zero, type Cost } from '../scripts/support/database-cost.ts';
import { inProcessApp } from './in-process.ts';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'seven quiet otters under the bridge';

export interface FlowCost extends Cost {
  flow: string;
  status: number;
}

export async function databaseCostFigures(): Promise<FlowCost[]> {
  const cost = zero();
  let clock = Date.UTC(2026, 0, 15);
  const app = await inProcessApp({ SCRYPT_LOG_N: '4', SCRYPT_R: '8', SCRYPT_P: '1' }, () => (clock += 1000), (db) => counting(db, cost));
  const out: FlowCost[] = [];
  const measure = async (flow: string, act: () => Promise<Response>) => {
    Object.assign(cost, zero());
    const res = await act();
    const body = await res.text();
    // The flow's own trips; the courier's (a claim and a delete per mail, after the answer) are not its.
    out.push({ flow, status: res.status, ...cost });
    await app.settled();
    return body;
  };
  await app.activeAccount('active@example.com', PASSWORD);
  await measure('register, new address', () => app.post('/register', { email: 'new@example.com', password: PASSWORD }));
  await measure('activate', () => app.post('/activate', { token: app.lastToken(), password: PASSWORD }));
  const login = await measure('login, right password', () => app.post('/login', { email: 'active@example.com', password: PASSWORD }));
  const session = (JSON.parse(login) as { session: { token: string } }).session.token;
  await measure('login, wrong password', () => app.post('/login', { email: 'active@example.com', password: NEW_PASSWORD }));
  await measure('login, unknown address', () => app.post('/login', { email: 'nobody@example.com', password: PASSWORD }));
  await measure('GET /session', () => app.get('/session', { Authorization: `Bearer ${session}` }));
  await measure('forgot password, active address', () => app.post('/forgot-password', { email: 'active@example.com' }));
  await measure('reset password', () => app.post('/reset-password', { token: app.lastToken(), password: NEW_PASSWORD }));
  return out;
}
