/** The per-client allowance of each endpoint, counted before anything else the request does. */
import type { Deps } from '../deps.ts';
import type { EventLog } from '../log.ts';
import { clientLimitKey } from './client-address.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respondEdge } from './respond.ts';
import type { Endpoint } from '../config/throttle-settings.ts';
import { hit, keys } from '../storage/throttle.ts';

export type ClientCharge = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * One use of the client's allowance for the endpoint (`clientKey`: clientLimitKey's), whether the request came over HTTP or
 * through the api (functions/api.ts): one counter per client and endpoint for both ways in.
 */
export async function chargeClient(deps: Pick<Deps, 'db' | 'config' | 'now'>, endpoint: Endpoint, clientKey: string, log: EventLog): Promise<ClientCharge> {
  const { db, config, now } = deps;
  const verdict = await hit(db, keys.client(endpoint, clientKey), config.throttle.perClient[endpoint], now());
  if (verdict.ok) return { ok: true };
  log('throttled', { rule: 'client', retryAfter: verdict.retryAfterSeconds });
  return { ok: false, retryAfterSeconds: verdict.retryAfterSeconds };
}

export function limitPerClient(endpoint: Endpoint): AnsweringMiddleware {
  return answering(
    async function limitClient(c, next) {
      const charge = await chargeClient(c.get('deps'), endpoint, clientLimitKey(c.get('client')), c.get('log'));
      if (!charge.ok) return respondEdge(c, { kind: 'throttled', retryAfterSeconds: charge.retryAfterSeconds });
      await next();
    },
    ['throttled'],
  );
}
