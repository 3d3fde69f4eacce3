/**
 * Who is asking: the client address that per-client limits and the audit log use. It must come
 * from something the client cannot choose. On Workers that is Cloudflare's CF-Connecting-IP; on
 * Node it is the socket's peer address, and X-Forwarded-For counts only when the peer is one of
 * the proxies that TRUSTED_PROXIES names (otherwise anyone could claim any address per request
 * and walk around every limit).
 */
import type { EventLog } from '../log.ts';

/** An address or prefix; IPv4 is kept as IPv4-mapped IPv6 so one comparison serves both. */
export interface AddressRange {
  bits: bigint;
  prefix: number;
}

export const UNKNOWN_CLIENT = 'unknown';

const V4_MAPPED = 0xffffn << 32n;

function parseV4(text: string): bigint | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return null;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseV6(text: string): bigint | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): bigint[] | null => {
    if (s === '') return [];
    const out: bigint[] = [];
    const pieces = s.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseV4(piece);
        if (v4 === null) return null;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        out.push(BigInt(`0x${piece}`));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...Array<bigint>(halves.length === 2 ? missing : 0).fill(0n), ...tail];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** An IPv4 or IPv6 address as a 128-bit number (IPv4 mapped into ::ffff:0:0/96), or null. */
export function parseAddress(raw: string): bigint | null {
  const text = raw.trim().replace(/^\[(.*)\]$/, '$1').replace(/%[\w.-]+$/, '');
  if (text.length === 0 || text.length > 45) return null;
  if (!text.includes(':')) {
    const v4 = parseV4(text);
    return v4 === null ? null : V4_MAPPED | v4;
  }
  return parseV6(text);
}

const isV4 = (bits: bigint) => bits >> 32n === 0xffffn;

/** The text form the rest of the code sees: dotted IPv4, or IPv6 in lowercase hex groups. */
export function formatAddress(bits: bigint): string {
  if (isV4(bits)) return [24n, 16n, 8n, 0n].map((s) => String((bits >> s) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((bits >> s) & 0xffffn).toString(16));
  return groups.join(':');
}

/** "192.0.2.1", "10.0.0.0/8", "2001:db8::/32" → ranges; throws with the bad entry named. */
export function parseAddressRanges(raw: string | undefined): AddressRange[] {
  if (!raw || raw.trim() === '') return [];
  return raw.split(',').map((entry) => {
    const [addr, len, extra] = entry.trim().split('/');
    const bits = addr === undefined ? null : parseAddress(addr);
    if (bits === null || extra !== undefined) throw new Error(`not an IP address or range: "${entry.trim()}"`);
    const max = isV4(bits) ? 32 : 128;
    const prefix = len === undefined ? max : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
    if (!(prefix >= 0 && prefix <= max)) throw new Error(`bad prefix length in "${entry.trim()}"`);
    return { bits, prefix: isV4(bits) ? prefix + 96 : prefix };
  });
}

function inRange(bits: bigint, range: AddressRange): boolean {
  const shift = BigInt(128 - range.prefix);
  return bits >> shift === range.bits >> shift;
}

const LOOPBACK: AddressRange[] = parseAddressRanges('127.0.0.0/8,::1');

/** 127.0.0.0/8 or ::1 (also written as [::1] or ::ffff:127.0.0.1): this machine. */
export function isLoopbackAddress(raw: string): boolean {
  const bits = parseAddress(raw);
  return bits !== null && LOOPBACK.some((range) => inRange(bits, range));
}

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
  const bits = parseAddress(address);
  if (bits === null) return UNKNOWN_CLIENT;
  if (isV4(bits)) return formatAddress(bits);
  return `${formatAddress((bits >> 64n) << 64n)}/64`;
}
