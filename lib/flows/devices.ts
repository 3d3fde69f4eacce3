/**
 * What a session can do about the account's known devices (lib/storage/devices.ts): list them and
 * end one, as it can its sessions. A device is named by its public id, never by its token; another
 * account's id is answered exactly as an id that does not exist.
 */
import { constantTimeEqual } from '../crypto/tokens.ts';
import { rowsOf } from '../storage/db.ts';
import { accountDevicesRead, endAccountDevice, presentedDigest, type DeviceRow } from '../storage/devices.ts';
import { openSession, type PresentedSession, type SessionServices, type Unauthenticated } from './sessions.ts';

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

/**
 * The account's unexpired devices, read in the batch that reads the asking session: one trip.
 * `deviceToken` is the request's Latchkey-Device header, if any.
 */
export async function listDevices(services: SessionServices, bearer: PresentedSession, deviceToken: string | undefined, now: number): Promise<DeviceListOutcome | Unauthenticated> {
  const opened = await openSession(services, bearer, now, (gate) => ({ devices: accountDevicesRead(services.db, gate.id, now) }));
  if (!opened.ok) return { kind: 'unauthenticated' };
  const presented = presentedDigest(deviceToken);
  return {
    kind: 'listed',
    devices: rowsOf<DeviceRow>(opened.done.devices).map(({ id, tokenHash, createdAt, lastUsedAt, expiresAt }) => ({
      id,
      createdAt,
      lastUsedAt,
      expiresAt,
      current: constantTimeEqual(tokenHash, presented),
    })),
  };
}

/**
 * Ends one of the account's devices by its id, in the batch that reads the asking session, while
 * that session is live: its token no longer skips the back-off, and its failures go with it.
 */
export async function endDevice(services: SessionServices, bearer: PresentedSession, id: string, now: number): Promise<EndDeviceOutcome | Unauthenticated> {
  const opened = await openSession(services, bearer, now, (gate) => ({ end: endAccountDevice(services.db, gate.id, id, now, gate.live) }));
  if (!opened.ok) return { kind: 'unauthenticated' };
  const { session, done } = opened;
  if (done.end.meta.changes !== 1) return { kind: 'unknown' };
  services.log('device_revoked', { accountId: session.accountId, device: id, by: session.id });
  return { kind: 'ended' };
}
