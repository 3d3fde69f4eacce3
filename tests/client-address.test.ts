import { describe, expect, it } from 'vitest';
import {
  clientLimitKey,
  cloudflareClientAddress,
  normalizeAddress,
  proxiedClientAddress,
  UNKNOWN_CLIENT,
} from '../lib/http/client-address.ts';
import { parseAddressRanges } from '../lib/policy/ip-addresses.ts';
import { loadConfig } from '../lib/config/config.ts';
import { PUBLIC_URL } from './support/harness.ts';

describe('client addresses', () => {
  it('normalises IPv4, IPv6 and IPv4-mapped IPv6, and refuses anything else', () => {
    expect(normalizeAddress('192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeAddress('2001:DB8::1')).toBe('2001:db8:0:0:0:0:0:1');
    expect(normalizeAddress('[2001:db8::1]')).toBe('2001:db8:0:0:0:0:0:1');
    expect(normalizeAddress('fe80::1%eth0')).toBe('fe80:0:0:0:0:0:0:1');
    expect(normalizeAddress('::1')).toBe('0:0:0:0:0:0:0:1');
    for (const bad of ['', 'localhost', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1::2::3', '12345::', 'x'.repeat(60), '<script>', null, undefined]) {
      expect(normalizeAddress(bad), String(bad)).toBe(UNKNOWN_CLIENT);
    }
  });

  it('believes CF-Connecting-IP on Workers, where Cloudflare sets it', () => {
    expect(cloudflareClientAddress(new Headers({ 'CF-Connecting-IP': '198.51.100.4', 'X-Forwarded-For': '1.1.1.1' }))).toBe('198.51.100.4');
    expect(cloudflareClientAddress(new Headers())).toBe(UNKNOWN_CLIENT);
  });

  it('uses the socket address on Node and ignores X-Forwarded-For unless the peer is a trusted proxy', () => {
    expect(proxiedClientAddress('203.0.113.7', '1.2.3.4', [])).toBe('203.0.113.7');
    expect(proxiedClientAddress('::ffff:127.0.0.1', '1.2.3.4', [])).toBe('127.0.0.1');
    expect(proxiedClientAddress(undefined, '1.2.3.4', [])).toBe(UNKNOWN_CLIENT);

    const trusted = parseAddressRanges('127.0.0.1, 10.0.0.0/8, fd00::/8');
    expect(proxiedClientAddress('127.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    expect(proxiedClientAddress('::ffff:127.0.0.1', '198.51.100.1', trusted)).toBe('198.51.100.1');
    // Read from the right: what the client itself wrote on the left is not believed.
    expect(proxiedClientAddress('127.0.0.1', '6.6.6.6, 198.51.100.1, 10.1.2.3', trusted)).toBe('198.51.100.1');
    expect(proxiedClientAddress('fd00::5', '2001:db8::9', trusted)).toBe('2001:db8:0:0:0:0:0:9');
    // A forged or broken hop stops the walk at the last good address.
    expect(proxiedClientAddress('127.0.0.1', '198.51.100.1, garbage', trusted)).toBe('127.0.0.1');
    expect(proxiedClientAddress('127.0.0.1', '10.0.0.1, 10.0.0.2', trusted)).toBe('10.0.0.1');
    expect(proxiedClientAddress('127.0.0.1', undefined, trusted)).toBe('127.0.0.1');
    expect(proxiedClientAddress('127.0.0.2', '198.51.100.1', trusted)).toBe('127.0.0.2');
  });

  it('keys IPv4 per address and IPv6 per /64', () => {
    expect(clientLimitKey('192.0.2.1')).toBe('192.0.2.1');
    expect(clientLimitKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(clientLimitKey(UNKNOWN_CLIENT)).toBe(UNKNOWN_CLIENT);
  });

  // Mutation testing of lib/policy/ip-addresses.ts (docs/testing.md) found these untested: what an
  // operator sees when a TRUSTED_PROXIES entry is wrong, spaces around entries, the full and the
  // longest forms of an address, and text around brackets or after a prefix length.
  it('names the TRUSTED_PROXIES entry it refuses, as the operator wrote it but trimmed', () => {
    const refusal = (value: string) => {
      try {
        loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: value });
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(refusal('192.0.2.1, 10.0.0.x ')).toBe('TRUSTED_PROXIES: not an IP address or range: "10.0.0.x"');
    expect(refusal('192.0.2.1,  10.0.0.0/33')).toBe('TRUSTED_PROXIES: bad prefix length in "10.0.0.0/33"');
    // A prefix length is digits and nothing else, whatever Number() would make of it.
    for (const bad of ['10.0.0.0/1e1', '10.0.0.0/ 8', '10.0.0.0/8x', '10.0.0.0/-1', '10.0.0.0/']) {
      expect(refusal(bad), bad).toMatch(/^TRUSTED_PROXIES: bad prefix length in /);
    }
    // Brackets hold the whole address: nothing may stand before or after them.
    for (const bad of ['a[::1]', '[::1]5', '[::1']) expect(refusal(bad), bad).toMatch(/^TRUSTED_PROXIES: not an IP address or range: /);
  });

  it('takes TRUSTED_PROXIES with spaces around its entries, blank as none, and every form of an address', () => {
    expect(loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: '   ' }).trustedProxies).toEqual([]);
    const spaced = loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: ' 10.0.0.0/8 , 192.0.2.1 ' }).trustedProxies;
    expect(spaced).toEqual(parseAddressRanges('10.0.0.0/8,192.0.2.1'));
    // The full form of an IPv6 address (no "::") and the longest text an address can have (45).
    const longest = 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255';
    expect(longest).toHaveLength(45);
    const forms = loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: `2001:db8:0:0:0:0:0:1,${longest},[::1]` }).trustedProxies;
    expect(forms.map((r) => r.prefix)).toEqual([128, 128, 128]);
    expect(normalizeAddress('2001:db8:0:0:0:0:0:1')).toBe(normalizeAddress('2001:db8::1'));
    expect(normalizeAddress(longest)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('reads TRUSTED_PROXIES strictly', () => {
    expect(loadConfig({ PUBLIC_URL }).trustedProxies).toEqual([]);
    expect(loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: '10.0.0.0/8,::1' }).trustedProxies).toHaveLength(2);
    for (const bad of ['*', 'true', '10.0.0.0/33', '::/129', '10.0.0.0/8/1', 'proxy.local']) {
      expect(() => loadConfig({ PUBLIC_URL, TRUSTED_PROXIES: bad }), bad).toThrow(/TRUSTED_PROXIES/);
    }
  });
});
