/** The per-client allowance of each endpoint, counted before anything else the request does. */
import { clientLimitKey } from './client-address.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respondEdge } from './respond.ts';
import type { Endpoint } from '../config/throttle-settings.ts';
import { hit, keys } from '../storage/throttle.ts';

export function limitPerClient(endpoint: Endpoint): AnsweringMiddleware {
  return answering(
    async function limitClient(c, next) {
      const { db, config, now } = c.get('deps');
      const verdict = await hit(db, keys.client(endpoint, clientLimitKey(c.get('client'))), config.throttle.perClient[endpoint], now());
      if (!verdict.ok) {
        c.get('log')('throttled', { rule: 'client', retryAfter: verdict.retryAfterSeconds });
        return respondEdge(c, { kind: 'throttled', retryAfterSeconds: verdict.retryAfterSeconds });
      }
      await next();
    },
    ['throttled'],
  );
}
