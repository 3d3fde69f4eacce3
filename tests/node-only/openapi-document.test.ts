/**
 * GET /openapi.json is a valid OpenAPI 3.1 document, by an independent validator
 * (@seriousme/openapi-schema-validator, which checks against the OpenAPI Initiative's published
 * 3.1 schema, bundled in the package: no network). Node only: the validator reads that schema from
 * disk, which workerd cannot. The document is the same on both runtimes (one app builds it), and
 * tests/contract.test.ts checks responses against it in both projects.
 */
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { createHarness } from '../support/harness.ts';

async function served() {
  const h = await createHarness();
  const res = await h.get('/openapi.json');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, any>;
}

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1, with every $ref resolving', async () => {
    const doc = await served();
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors).toBeUndefined();
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    const resolved = JSON.stringify(validator.resolveRefs());
    expect(resolved).not.toContain('"$ref"');
  });

  it('the validator is not a rubber stamp: a broken copy fails', async () => {
    const doc = await served();
    const broken = structuredClone(doc);
    delete broken.paths['/login'].post.responses['401'].description;
    broken.paths['/register'].post.responses['202'].content['application/json'].schema = { $ref: '#/components/schemas/Nowhere' };
    const result = await new Validator().validate(broken);
    expect(result.valid).toBe(false);
  });

  it('every schema in it is valid JSON Schema 2020-12 (the OpenAPI 3.1 dialect)', async () => {
    const doc = await served();
    const ajv = new Ajv2020({ strict: false });
    const schemas: Array<[string, unknown]> = Object.entries(doc.components.schemas);
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const [type, media] of Object.entries<any>(operation.requestBody?.content ?? {})) schemas.push([`${method} ${path} request ${type}`, media.schema]);
        for (const [status, response] of Object.entries<any>(operation.responses)) {
          for (const [type, media] of Object.entries<any>(response.content ?? {})) schemas.push([`${method} ${path} ${status} ${type}`, media.schema]);
        }
      }
    }
    expect(schemas.length).toBeGreaterThan(40);
    for (const [name, schema] of schemas) {
      expect(ajv.validateSchema(schema as object), `${name}: ${ajv.errorsText(ajv.errors)}`).toBe(true);
    }
  });

  it('says which headers come with which answers', async () => {
    const doc = await served();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        for (const status of ['429', '503']) {
          const response = operation.responses[status];
          if (response) expect(response.headers?.['Retry-After']?.required, `${method} ${path} ${status}`).toBe(true);
        }
        if (operation.responses['415']) expect(operation.responses['415'].headers?.Accept?.required, `${method} ${path} 415`).toBe(true);
      }
    }
    expect(Object.keys(doc.paths['/login'].post.responses).sort()).toEqual(['200', '202', '400', '401', '403', '413', '415', '422', '429', '500', '503']);
    expect(doc.paths['/register'].post.responses['422'].content['application/problem+json'].schema).toEqual({ $ref: '#/components/schemas/ValidationProblem' });
  });
});
