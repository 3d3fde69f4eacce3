// Sealing at rest (lib/crypto/seal.ts), on both runtimes' WebCrypto: what DATA_KEY seals opens
// only with the same key and the same label, and anything altered, moved or malformed is refused.
import { describe, expect, it } from 'vitest';
import { backend } from '#backend';
import { newDataKey, newKeyBytes, parseDataKey, sealerFromKey, UnsealError } from '../lib/crypto/seal.ts';

const KEY_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

describe(`sealing with DATA_KEY (${backend.name})`, () => {
  it('opens what it sealed, with a fresh nonce each time, and nothing of the text shows', async () => {
    const sealer = sealerFromKey(newKeyBytes());
    const text = JSON.stringify({ link: 'https://x.test/activate?token=secret-token-value', to: 'ada@example.com' });
    const [a, b] = [await sealer.seal(text, 'row-1'), await sealer.seal(text, 'row-1')];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]+$/);
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain('secret-token-value');
      expect(await sealer.open(sealed, 'row-1')).toBe(text);
    }
  });

  it('refuses another label, another key, an altered byte and anything that is not a seal', async () => {
    const key = newKeyBytes();
    const sealer = sealerFromKey(key);
    const sealed = await sealer.seal('the mail', 'row-1');
    await expect(sealer.open(sealed, 'row-2')).rejects.toBeInstanceOf(UnsealError);
    await expect(sealerFromKey(newKeyBytes()).open(sealed, 'row-1')).rejects.toBeInstanceOf(UnsealError);
    const [version, iv, body] = sealed.split('.');
    const flipped = `${body!.slice(0, 5)}${body![5] === 'A' ? 'B' : 'A'}${body!.slice(6)}`;
    await expect(sealer.open(`${version}.${iv}.${flipped}`, 'row-1')).rejects.toBeInstanceOf(UnsealError);
    for (const bad of ['', 'v1', 'v1..', `v2.${iv}.${body}`, `v1.${iv}.${body}.x`, `v1.${iv!.slice(1)}.${body}`, `v1.${iv}.not*base64`]) {
      await expect(sealer.open(bad, 'row-1'), bad).rejects.toBeInstanceOf(UnsealError);
    }
    // The same key bytes, imported again: opens.
    expect(await sealerFromKey(Uint8Array.from(key)).open(sealed, 'row-1')).toBe('the mail');
  });

  it('reads DATA_KEY as 64 hex digits, base64 or base64url of 32 bytes, and nothing else', () => {
    const bytes = Uint8Array.from({ length: 32 }, (_, i) => i);
    const base64 = btoa(String.fromCharCode(...bytes));
    const base64url = base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
    for (const text of [KEY_HEX, KEY_HEX.toUpperCase(), base64, base64url, ` ${base64}\n`]) expect(Array.from(parseDataKey(text) ?? []), text).toEqual(Array.from(bytes));
    for (const text of ['', 'short', KEY_HEX.slice(2), `${KEY_HEX}00`, btoa('x'.repeat(31)), btoa('x'.repeat(33)), 'not base64 at all!!']) {
      expect(parseDataKey(text), text).toBeNull();
    }
    expect(parseDataKey(newDataKey())).toHaveLength(32);
    expect(() => sealerFromKey(new Uint8Array(16))).toThrow(/32 bytes/);
  });
});
