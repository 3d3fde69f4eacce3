/** Device tokens (lib/storage/devices.ts): DEVICE_TOKEN_TTL_SECONDS and DEVICE_MAX_FAILURES, and the fixed cap per account. */

export interface DevicePolicy {
  /** How long a device token is trusted after the login that issued it. */
  ttlSeconds: number;
  /** Failed logins through the account's tokens together after which none of them is trusted. */
  maxFailures: number;
}

export const DEFAULT_DEVICES: DevicePolicy = { ttlSeconds: 90 * 86_400, maxFailures: 5 };

/** Tokens kept per account; the least recently used go first. Fixed, not a setting. */
export const DEVICES_PER_ACCOUNT = 50;
