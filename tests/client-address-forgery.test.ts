/**
 * What a client can write into X-Forwarded-For, and what TRUSTED_PROXIES really trusts: a forged
 * hop never becomes an error or someone else's address, and each listed range trusts exactly its
 * own addresses, no more.
 */
import { describe, expect, it } from 'vitest';
import { normalizeAddress, proxiedClientAddress, UNKNOWN_CLIENT } from '../lib/http/client-address.ts';
import { parseAddressRanges } from '../lib/policy/ip-addresses.ts';

describe('forged X-Forwarded-For hops', () => {
  it('refuses address text with anything around or inside the numbers, instead of throwing', () => {
    for (const forged of ['1.2.3.x12', '1.2.3.12x', 'x1.2.3.4', '1.2.3.4x', '1.2.3.1234', '1.2.3. 4', '1.2.3.+4', '1.2.3.0x1', '2001:db8::g1', '2001:db8::12345', '2001:db8::1g', '::ffff:1.2.3.x4', '::ffff:1.2.3.4x']) {
      expect(() => normalizeAddress(forged), forged).not.toThrow();
      expect(normalizeAddress(forged), forged).toBe(UNKNOWN_CLIENT);
    }
  });

  it('refuses IPv6 text with too many or too few groups, or two "::", instead of reading part of it', () => {
    for (const forged of ['1::2::3', '1:2:3:4:5:6:7:8::9::1', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '::1:2:3:4:5:6:7:8', '1.2.3.4:5::', '[::1]x', 'x[::1]', '::1%eth0x/', '::1%a:2']) {
      expect(normalizeAddress(forged), forged).toBe(UNKNOWN_CLIENT);
    }
    expect(normalizeAddress('1:2:3:4:5:6::7')).toBe('1:2:3:4:5:6:0:7');
    expect(normalizeAddress('[::1]')).toBe('0:0:0:0:0:0:0:1');
  });

  it('stops at a forged hop behind a trusted proxy', () => {
    const trusted = parseAddressRanges('127.0.0.1');
    for (const forged of ['1.2.3.x12', '2001:db8::g1', '1.2.3.1234']) {
      expect(proxiedClientAddress('127.0.0.1', `198.51.100.1, ${forged}`, trusted), forged).toBe('127.0.0.1');
    }
  });
});

describe('TRUSTED_PROXIES trusts exactly what it lists', () => {
  const trusts = (list: string, peer: string) => proxiedClientAddress(peer, '198.51.100.1', parseAddressRanges(list)) === '198.51.100.1';

  it('a single address trusts that address only', () => {
    expect(trusts('192.0.2.10', '192.0.2.10')).toBe(true);
    expect(trusts('192.0.2.10', '192.0.2.11')).toBe(false);
    expect(trusts('192.0.2.10', '192.0.2.9')).toBe(false);
    expect(trusts('::1', '::1')).toBe(true);
    expect(trusts('::1', '::2')).toBe(false);
  });

  it('a range trusts its first and last address and nothing just outside', () => {
    expect(trusts('10.0.0.0/8', '10.0.0.0')).toBe(true);
    expect(trusts('10.0.0.0/8', '10.255.255.255')).toBe(true);
    expect(trusts('10.0.0.0/8', '11.0.0.0')).toBe(false);
    expect(trusts('10.0.0.0/8', '9.255.255.255')).toBe(false);
    expect(trusts('192.0.2.128/25', '192.0.2.128')).toBe(true);
    expect(trusts('192.0.2.128/25', '192.0.2.127')).toBe(false);
    expect(trusts('fd00::/8', 'fdff:ffff::1')).toBe(true);
    expect(trusts('fd00::/8', 'fe00::1')).toBe(false);
    // An IPv4 range does not reach into IPv6 space, nor the other way round.
    expect(trusts('0.0.0.0/0', '2001:db8::1')).toBe(false);
    expect(trusts('0.0.0.0/0', '203.0.113.9')).toBe(true);
  });

  it('reads each entry as written: address, prefix length and family', () => {
    expect(parseAddressRanges('10.0.0.0/8, 192.0.2.1, 2001:db8::/32')).toEqual([
      { bits: 0xffff0a000000n, prefix: 104 },
      { bits: 0xffffc0000201n, prefix: 128 },
      { bits: 0x20010db8000000000000000000000000n, prefix: 32 },
    ]);
    for (const bad of ['10.0.0.0/', '10.0.0.0/x', '10.0.0.0/-1', '10.0.0.0/08x', '10.0.0.0/1000']) {
      expect(() => parseAddressRanges(bad), bad).toThrow();
    }
  });
});
