/**
 * What a session can do about the account's known devices (lib/storage/devices.ts): list them and
 * end one, as it can its sessions. A device is named by its public id, never by its token; another
 * account's id is answered exactly as an id that does not exist.
 */
import { constantTimeEqual } from '../crypto/tokens.ts';
import type { EventLog } from '../log.ts';
import type { Database } from '../storage/db.ts';
import { endDevice as endDeviceRow, liveDevices, presentedDigest } from '../storage/devices.ts';
import type { LiveSession } from './sessions.ts';

export interface DeviceServices {
  db: Database;
  log: EventLog;
}

export interface DeviceEntry {
  id: string;
  createdAt: number;
  lastUsedAt: number | null;
  expiresAt: number;
  /** Whether the request presented this device's token. */
  current: boolean;
}

export type DeviceListOutcome = { kind: 'listed'; devices: DeviceEntry[] };
export type EndDeviceOutcome = { kind: 'ended' } | { kind: 'unknown' };

/** The account's unexpired devices; `deviceToken` is the request's Latchkey-Device header, if any. */
export async function listDevices(services: DeviceServices, session: LiveSession, deviceToken: string | undefined, now: number): Promise<DeviceListOutcome> {
  const presented = presentedDigest(deviceToken);
  const rows = await liveDevices(services.db, session.accountId, now);
  return {
    kind: 'listed',
    devices: rows.map(({ id, tokenHash, createdAt, lastUsedAt, expiresAt }) => ({ id, createdAt, lastUsedAt, expiresAt, current: constantTimeEqual(tokenHash, presented) })),
  };
}

/** Ends one of the account's devices by its id: its token no longer skips the back-off, and its failures go with it. */
export async function endDevice(services: DeviceServices, session: LiveSession, id: string, now: number): Promise<EndDeviceOutcome> {
  const { meta } = await endDeviceRow(services.db, session.accountId, id, now).run();
  if (meta.changes !== 1) return { kind: 'unknown' };
  services.log('device_revoked', { accountId: session.accountId, device: id, by: session.id });
  return { kind: 'ended' };
}
