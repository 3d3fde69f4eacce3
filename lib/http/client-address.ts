/**
 * Who is asking: the client address that per-client limits and the audit log use. It must come
 * from something the client cannot choose. On Workers that is Cloudflare's CF-Connecting-IP; on
 * Node it is the socket's peer address, and X-Forwarded-For counts only when the peer is one of
 * the proxies that TRUSTED_PROXIES names (otherwise anyone could claim any address per request
 * and walk around every limit).
 */
import type { EventLog } from '../log.ts';
import { formatAddress, inRange, isV4, parseAddress, type AddressRange } from '../policy/ip-addresses.ts';

export const UNKNOWN_CLIENT = 'unknown';

/** The address as written in keys and logs, or UNKNOWN_CLIENT when it is not an IP address. */
export function normalizeAddress(raw: string | null | undefined): string {
  const bits = raw ? parseAddress(raw) : null;
  return bits === null ? UNKNOWN_CLIENT : formatAddress(bits);
}

/**
 * Workers: Cloudflare sets CF-Connecting-IP at its edge and overwrites any value a client sent,
 * so it is the one header that can be believed there.
 */
export function cloudflareClientAddress(headers: Headers): string {
  return normalizeAddress(headers.get('cf-connecting-ip'));
}

/**
 * Node: the socket's peer, unless that peer is a trusted proxy; then X-Forwarded-For is read from
 * the right (the hop nearest to us), skipping trusted proxies, and the first address that is not
 * one of them is the client. Anything left of it was written by the client and is ignored.
 */
export function proxiedClientAddress(socket: string | undefined, forwardedFor: string | null | undefined, trusted: AddressRange[]): string {
  const peer = socket ? parseAddress(socket) : null;
  if (peer === null) return UNKNOWN_CLIENT;
  const isTrusted = (bits: bigint) => trusted.some((range) => inRange(bits, range));
  if (!isTrusted(peer) || !forwardedFor) return formatAddress(peer);
  const hops = forwardedFor.split(',').map((hop) => parseAddress(hop));
  let client = peer;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i];
    // A hop that is not an address is a forgery or a broken proxy: stop at the last good one.
    if (hop === null || hop === undefined) break;
    client = hop;
    if (!isTrusted(hop)) break;
  }
  return formatAddress(client);
}

/**
 * A proxy nobody declared: X-Forwarded-For from a peer that TRUSTED_PROXIES does not list is
 * ignored (rightly), but if that peer is a real proxy, every client behind it now counts as the
 * proxy and shares one allowance. Said once per process (the returned function's lifetime), with
 * the fix, rather than once per request.
 */
export function undeclaredProxyWarning(trusted: AddressRange[], log: EventLog) {
  let warned = false;
  return (socket: string | undefined, forwardedFor: string | null | undefined): void => {
    if (warned || !forwardedFor) return;
    const peer = socket ? parseAddress(socket) : null;
    if (peer === null || trusted.some((range) => inRange(peer, range))) return;
    warned = true;
    const address = formatAddress(peer);
    log('proxy_not_trusted', {
      peer: address,
      detail:
        `A request from ${address} carried X-Forwarded-For, but TRUSTED_PROXIES does not list ${address}, so the header is ignored. ` +
        `If ${address} is a proxy in front of this server, every client behind it now counts as ${address} and shares one per-client allowance: ` +
        `set TRUSTED_PROXIES=${address} (or its range). If it is not, ignore this. Said once per process.`,
    });
  };
}

/**
 * What a per-client limit counts under. An IPv6 client usually holds a whole /64 and can rotate
 * through it freely, so IPv6 addresses share one counter per /64; IPv4 counts per address.
 */
export function clientLimitKey(address: string): string {
  let key = LIMIT_KEYS.get(address);
  if (key === undefined) {
    key = limitKeyOf(address);
    if (LIMIT_KEYS.size >= REMEMBERED_KEYS) LIMIT_KEYS.clear();
    LIMIT_KEYS.set(address, key);
  }
  return key;
}

// The same clients ask again and again; parsing an address into bits and back is most of the key's
// cost, on every counted request.
const LIMIT_KEYS = new Map<string, string>();
const REMEMBERED_KEYS = 1024;

function limitKeyOf(address: string): string {
  const bits = parseAddress(address);
  if (bits === null) return UNKNOWN_CLIENT;
  if (isV4(bits)) return formatAddress(bits);
  return `${formatAddress((bits >> 64n) << 64n)}/64`;
}
