/**
 * The answers every route shares, as outcomes: what lib/http/respond.ts answers them with, and
 * what lib/http/media.ts and the route builders declare they may send. Its own module so that the
 * responder and the media checks, which use each other, both take it from here.
 */
import type { FieldError } from '../flows/field-error.ts';

/** What can go wrong around any flow, before or after it runs. */
export type EdgeOutcome =
  | { kind: 'malformed-body'; detail: string }
  | { kind: 'body-too-large' }
  | { kind: 'unsupported-media-type'; accepted: string[] }
  | { kind: 'invalid-fields'; errors: FieldError[] }
  | { kind: 'throttled'; retryAfterSeconds: number }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allowed: string[] }
  | { kind: 'unauthenticated' }
  | { kind: 'bot-check-refused' }
  | { kind: 'bot-check-unavailable' }
  | { kind: 'unavailable' }
  | { kind: 'busy' }
  | { kind: 'internal' };

export type EdgeKind = EdgeOutcome['kind'];
