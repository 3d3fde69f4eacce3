/**
 * Sealing data at rest with DATA_KEY, the one key for everything Latchkey keeps that must not be
 * readable from a copy of the database (today: the outbox's mails, whose links are credentials).
 * AES-256-GCM through WebCrypto, so the same code runs on Workers and Node. Each seal has a fresh
 * 96-bit nonce and is bound to a label (the outbox row's id) as associated data, so a sealed body
 * moved to another row does not open.
 */
export interface Sealer {
  seal(plaintext: string, label: string): Promise<string>;
  /** Throws UnsealError for anything that is not a seal made with this key and this label. */
  open(sealed: string, label: string): Promise<string>;
}

export class UnsealError extends Error {
  override name = 'UnsealError';
}

const VERSION = 'v1';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) return null;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, ''));
    return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
  } catch {
    return null;
  }
}

/**
 * The key's bytes from its text: 32 bytes as base64 or base64url (43–44 characters), or as 64 hex
 * digits. Null for anything else, so the caller can name the setting in its refusal.
 */
export function parseDataKey(text: string): Uint8Array | null {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Uint8Array.from(trimmed.match(/../g)!, (pair) => parseInt(pair, 16));
  const bytes = fromBase64(trimmed);
  return bytes && bytes.length === KEY_BYTES ? bytes : null;
}

/** A new random key, as the text parseDataKey reads (base64url). */
export function newDataKey(): string {
  return toBase64Url(newKeyBytes());
}

export const newKeyBytes = () => crypto.getRandomValues(new Uint8Array(KEY_BYTES));

/** Synchronous to build (an entry's deps are), the key is imported on first use. */
export function sealerFromKey(keyBytes: Uint8Array): Sealer {
  if (keyBytes.length !== KEY_BYTES) throw new Error(`a data key has ${KEY_BYTES} bytes`);
  let imported: Promise<CryptoKey> | undefined;
  const importKey = () => (imported ??= crypto.subtle.importKey('raw', keyBytes, 'AES-GCM', false, ['encrypt', 'decrypt']));
  return {
    async seal(plaintext, label) {
      const iv = crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      const params = { name: 'AES-GCM', iv, additionalData: encoder.encode(label) };
      const sealed = new Uint8Array(await crypto.subtle.encrypt(params, await importKey(), encoder.encode(plaintext)));
      return `${VERSION}.${toBase64Url(iv)}.${toBase64Url(sealed)}`;
    },
    async open(sealed, label) {
      const [version, ivText, bodyText, ...rest] = sealed.split('.');
      const iv = ivText === undefined ? null : fromBase64(ivText);
      const body = bodyText === undefined ? null : fromBase64(bodyText);
      if (version !== VERSION || rest.length > 0 || !iv || iv.length !== NONCE_BYTES || !body) throw new UnsealError('not a sealed value');
      try {
        const params = { name: 'AES-GCM', iv, additionalData: encoder.encode(label) };
        return decoder.decode(await crypto.subtle.decrypt(params, await importKey(), body));
      } catch {
        throw new UnsealError('sealed with another key or label, or altered');
      }
    },
  };
}
