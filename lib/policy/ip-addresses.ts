/**
 * IPv4 and IPv6 addresses and ranges as numbers, so that one comparison serves both families and
 * every way of writing an address (mapped, bracketed, zoned, abbreviated) compares equal. Pure
 * parsing: the HTTP edge decides which address to believe (lib/http/client-address.ts), the
 * configuration parses TRUSTED_PROXIES with it.
 */

/** An address or prefix; IPv4 is kept as IPv4-mapped IPv6 so one comparison serves both. */
export interface AddressRange {
  bits: bigint;
  prefix: number;
}

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

/** Whether the number is an IPv4 address (mapped into ::ffff:0:0/96). */
export const isV4 = (bits: bigint) => bits >> 32n === 0xffffn;

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

/** Whether the address lies in the range. */
export function inRange(bits: bigint, range: AddressRange): boolean {
  const shift = BigInt(128 - range.prefix);
  return bits >> shift === range.bits >> shift;
}

const LOOPBACK: AddressRange[] = parseAddressRanges('127.0.0.0/8,::1');

/** 127.0.0.0/8 or ::1 (also written as [::1] or ::ffff:127.0.0.1): this machine. */
export function isLoopbackAddress(raw: string): boolean {
  const bits = parseAddress(raw);
  return bits !== null && LOOPBACK.some((range) => inRange(bits, range));
}
