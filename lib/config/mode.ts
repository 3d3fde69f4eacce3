/**
 * Development or production, from PUBLIC_URL alone. Its own module because both the configuration
 * (config.ts) and the throttle's defaults (throttle-settings.ts), which config.ts reads, depend on it.
 */
import { isLoopbackAddress } from '../policy/ip-addresses.ts';

export type Mode = 'development' | 'production';

/**
 * A fact, not a flag: when PUBLIC_URL's host is this machine (localhost and *.localhost, which
 * RFC 6761 reserves for loopback, 127.0.0.0/8, ::1), every link points here and no real user can
 * be served, so the server is in development mode.
 */
export function modeOf(publicUrl: string): Mode {
  const host = new URL(publicUrl).hostname.toLowerCase();
  const loopback = host === 'localhost' || host.endsWith('.localhost') || isLoopbackAddress(host);
  return loopback ? 'development' : 'production';
}
