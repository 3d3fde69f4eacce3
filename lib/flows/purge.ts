/**
 * Housekeeping (lib/storage/purge.ts) under the session policy the service runs with, so that the
 * purge deletes what a request would refuse (lib/flows/sessions.ts), and no more.
 */
import { DEFAULT_SESSIONS, type SessionPolicy } from '../config/session-settings.ts';
import type { Database } from '../storage/db.ts';
import { purgeRows, type PurgeResult } from '../storage/purge.ts';
import { endedBefore } from './sessions.ts';

export type { PurgeResult };

/** `sessionPolicy`: the running service's (config.sessions). */
export function purge(db: Database, now: number, graceSeconds: number, sessionPolicy: SessionPolicy = DEFAULT_SESSIONS): Promise<PurgeResult> {
  return purgeRows(db, now, graceSeconds, endedBefore(sessionPolicy, now));
}
