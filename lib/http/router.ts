/**
 * The router every endpoint is built on: an OpenAPIHono whose schema failures answer 422 naming
 * each field (problem+json, or the form's page for a person).
 */
import { OpenAPIHono, type z } from '@hono/zod-openapi';
import type { AppEnv } from './context.ts';
import { pointerTo, type FieldError } from './problems.ts';
import { respondEdge } from './respond.ts';

/**
 * A schema's refusal as field errors: the 422's `errors`, and the api's `invalid` (functions/api.ts).
 * Unknown fields are refused (schemas are strict), each named by its own pointer, so that a typo
 * such as "pasword" is reported instead of silently ignored.
 */
export function fieldErrorsOf(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ pointer: pointerTo([...issue.path, key]), detail: 'Unknown field.' }))
      : [{ pointer: pointerTo(issue.path), detail: issue.message }],
  );
}

export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: async function refuseInvalidFields(result, c) {
      if (result.success) return;
      return respondEdge(c, { kind: 'invalid-fields', errors: fieldErrorsOf(result.error) });
    },
  });
}
