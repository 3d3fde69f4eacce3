/** The body check every endpoint with a body runs first: its media type, then its encoding. */
import { answering, bodyKind, MEDIA_TYPES, type AnsweringMiddleware, type BodyKind } from './media.ts';
import { isUtf8Body } from './request-body.ts';
import { respondEdge } from './respond.ts';

/**
 * 415 before any parsing when the body is of a kind the endpoint does not take; 400 when it is not
 * UTF-8, rather than letting invalid bytes become U+FFFD (lib/http/request-body.ts).
 */
export function accepts(...kinds: BodyKind[]): AnsweringMiddleware {
  const wanted = kinds.map((k) => MEDIA_TYPES[k]);
  return answering(
    async function acceptsBody(c, next) {
      const kind = bodyKind(c);
      if (kind === null || !kinds.includes(kind)) return respondEdge(c, { kind: 'unsupported-media-type', accepted: wanted });
      if (!(await isUtf8Body(c.req, kind))) return respondEdge(c, { kind: 'malformed-body', detail: 'The body is not valid UTF-8 text.' });
      await next();
    },
    ['malformed-body', 'unsupported-media-type'],
  );
}
