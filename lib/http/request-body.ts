/**
 * Request bodies must be UTF-8 (RFC 8259 for JSON; the forms are served as UTF-8). The runtime's
 * own decoding turns each invalid byte into U+FFFD without a word, so that a mangled address or
 * password would be stored as if the client had sent it. Here the body is read once, decoded with
 * a fatal decoder, and handed on to the validators through Hono's body cache.
 */
import type { HonoRequest } from 'hono';

/**
 * The body could not be read to its end: the client went away or its stream broke. The client's
 * doing, answered 400 and logged as a bad request (functions/app.ts), never as our failure. The
 * cause is kept for the log's decision only; its text never reaches an answer.
 */
export class BodyReadError extends Error {
  override name = 'BodyReadError';
}

/** Reads the body, turning a failure of the stream itself into BodyReadError. */
export async function readBody(read: () => Promise<ArrayBuffer>): Promise<ArrayBuffer> {
  try {
    return await read();
  } catch (cause) {
    throw new BodyReadError('the request body could not be read to its end', { cause });
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
// A run of percent escapes in a form body: decoded together, since one character may span several.
const ESCAPES = /(?:%[0-9A-Fa-f]{2})+/g;

function decodes(bytes: ArrayBuffer): string | null {
  try {
    return utf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Percent escapes that decode to invalid UTF-8 (URLSearchParams would make them U+FFFD). */
function formEscapesDecode(body: string): boolean {
  for (const [run] of body.matchAll(ESCAPES)) {
    try {
      decodeURIComponent(run);
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * True if the body is valid UTF-8 (and, for a form, so are its percent escapes). The decoded text
 * is left in the request's body cache, so the JSON validator parses exactly what was checked.
 * A body whose stream fails throws BodyReadError.
 */
export async function isUtf8Body(req: HonoRequest, kind: 'json' | 'form'): Promise<boolean> {
  const text = decodes(await readBody(() => req.arrayBuffer()));
  if (text === null) return false;
  if (kind === 'form') return formEscapesDecode(text);
  // The write: Hono's json() parses bodyCache.text when set, so the validator parses the text checked here, not a second decode (a promise, whatever the cache's type says).
  (req.bodyCache as Record<string, unknown>).text = Promise.resolve(text);
  return true;
}
