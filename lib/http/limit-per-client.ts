/**
 * The per-client allowance of each endpoint. The request's hit on it is not a round trip of its
 * own: it rides in the first batch of the flow (lib/storage/throttle.ts runAdmitted), whose writes
 * it guards, and the flow answers `throttled` when it was refused. A request that ends before its
 * flow reaches the database (a body that fails validation, say) is charged here afterwards, and
 * answered 429 if that charge is refused, as if it had been counted first.
 */
import type { Deps } from '../deps.ts';
import type { EventLog } from '../log.ts';
import { clientLimitKey } from './client-address.ts';
import { answering, type AnsweringMiddleware } from './media.ts';
import { respondEdge } from './respond.ts';
import type { Endpoint } from '../config/throttle-settings.ts';
import { clientAdmission, keys, spendAdmission, type Admission } from '../storage/throttle.ts';
import { refusedClient } from '../flows/admission.ts';
import type { AppContext } from './context.ts';

/** The request's hit on the client's allowance for the endpoint (`clientKey`: clientLimitKey's), not yet run; the api's calls share it (functions/api.ts). */
export function admissionFor(deps: Pick<Deps, 'config' | 'now'>, endpoint: Endpoint, clientKey: string): Admission | null {
  return clientAdmission(keys.client(endpoint, clientKey), deps.config.throttle.perClient[endpoint], deps.now());
}

/** The admission the flow's first batch should carry; null on a route without an allowance. */
export const admissionOf = (c: AppContext): Admission | null => c.get('admission') ?? null;

/** Charges the admission if nothing has yet: the refusal, when it is one. */
export async function settleAdmission(deps: Pick<Deps, 'db'>, admission: Admission | null, log: EventLog) {
  if (!admission || admission.spent) return null;
  return refusedClient(await spendAdmission(deps.db, admission), log);
}

export function limitPerClient(endpoint: Endpoint): AnsweringMiddleware {
  return answering(
    async function limitClient(c, next) {
      const deps = c.get('deps');
      const admission = admissionFor(deps, endpoint, clientLimitKey(c.get('client')));
      c.set('admission', admission);
      await next();
      const refused = await settleAdmission(deps, admission, c.get('log'));
      if (refused) c.res = await respondEdge(c, refused);
    },
    ['throttled'],
  );
}
