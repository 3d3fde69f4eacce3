/**
 * A cap on password hashes in progress. Each scrypt hash holds 16 MiB (at the default parameters)
 * while it runs, and hashes beyond the number of cores only queue inside the runtime anyway. So at
 * most `maxInFlight` hashes run at once and at most `maxQueued` requests wait for a turn; past
 * that the request is refused at once (HashQueueFullError, answered 503 with Retry-After), so
 * memory and waiting time stay bounded however many requests arrive.
 */
import type { PasswordHasher } from './passwords.ts';

export interface HashQueueLimits {
  /** Hashes running at once. */
  maxInFlight: number;
  /** Callers that may wait for a free slot; the next one is refused. */
  maxQueued: number;
}

/** Too many hashes waiting: the caller should answer 503 and the client retry later. */
export class HashQueueFullError extends Error {
  override name = 'HashQueueFullError';
}

export interface QueuedHasher extends PasswordHasher {
  /** Hashes running now. */
  readonly inFlight: number;
  /** Callers waiting for a slot now. */
  readonly queued: number;
}

export function queuedHasher(inner: PasswordHasher, limits: HashQueueLimits): QueuedHasher {
  if (!(limits.maxInFlight >= 1) || !(limits.maxQueued >= 0)) throw new RangeError('hash queue limits out of range');
  let inFlight = 0;
  const waiting: Array<() => void> = [];

  const acquire = (): Promise<void> | void => {
    if (inFlight < limits.maxInFlight) {
      inFlight++;
      return;
    }
    if (waiting.length >= limits.maxQueued) throw new HashQueueFullError('password hash queue is full');
    return new Promise((resolve) => waiting.push(resolve));
  };
  // A finished hash hands its slot straight to the longest waiter (FIFO), so inFlight stays put.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else inFlight--;
  };
  const limited =
    <A extends unknown[], R>(work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await acquire();
      try {
        return await work(...args);
      } finally {
        release();
      }
    };

  return {
    hash: limited((password: string) => inner.hash(password)),
    verify: limited((password: string, stored: string) => inner.verify(password, stored)),
    verifyDummy: limited((password: string) => inner.verifyDummy(password)),
    needsRehash: (stored) => inner.needsRehash(stored),
    busy: () => inFlight >= limits.maxInFlight && waiting.length >= limits.maxQueued,
    get inFlight() {
      return inFlight;
    },
    get queued() {
      return waiting.length;
    },
  };
}

/**
 * Sheds the request before it is charged to any throttle: a request refused for load must not
 * count as a failed login, nor use up an address's mail allowance.
 */
export function refuseWhenBusy(hasher: PasswordHasher): void {
  if (hasher.busy()) throw new HashQueueFullError('password hash queue is full');
}
