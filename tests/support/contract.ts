/**
 * The OpenAPI contract, checked at run time: every response that a test sees through the harness
 * must be one that /openapi.json documents for its operation — the status, the media type, the
 * required headers, and a body that validates against the documented JSON Schema (2020-12, the
 * dialect of OpenAPI 3.1, with ajv). Runs in both test projects: ajv works inside workerd here.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import * as formatsModule from 'ajv-formats';

// ajv-formats is CommonJS; its default export arrives wrapped differently in Node and in workerd.
type FormatsPlugin = (ajv: Ajv2020) => Ajv2020;
const formatsExport = formatsModule as unknown as { default: FormatsPlugin | { default: FormatsPlugin } };
const addFormats: FormatsPlugin = typeof formatsExport.default === 'function' ? formatsExport.default : formatsExport.default.default;

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, unknown> };
}

interface Operation {
  responses: Record<string, ResponseObject>;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, { required?: boolean; schema?: { type?: string } }>;
  content?: Record<string, { schema?: unknown }>;
}

/** One response as the contract saw it. */
export interface Seen {
  method: string;
  path: string;
  status: number;
  mediaType: string;
}

const DOC_ID = 'https://latchkey.invalid/openapi.json';
const pointer = (...keys: string[]) => keys.map((k) => `/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');

/** The documented path that a request's path falls under: itself, or a template such as /sessions/{id}. */
function documentedPath(doc: OpenApiDocument, path: string): string {
  if (doc.paths[path]) return path;
  const segments = path.split('/');
  const template = Object.keys(doc.paths).find((candidate) => {
    const parts = candidate.split('/');
    return parts.length === segments.length && parts.every((part, i) => /^\{[^}]+\}$/.test(part) ? segments[i] !== '' : part === segments[i]);
  });
  return template ?? path;
}

/** The checker for one document: call it with each request and its response; it returns what is wrong. */
export function contractChecker(doc: OpenApiDocument) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  // The whole document is one schema resource, so `#/components/schemas/...` refs resolve in it.
  ajv.addSchema(doc, DOC_ID);
  const validators = new Map<string, ValidateFunction>();
  const validatorAt = (ref: string) => {
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.compile({ $ref: `${DOC_ID}#${ref}` });
      validators.set(ref, validate);
    }
    return validate;
  };

  return async function check(request: Request, response: Response): Promise<{ seen: Seen; violations: string[] }> {
    const method = request.method.toLowerCase();
    const path = documentedPath(doc, new URL(request.url).pathname);
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    const seen: Seen = { method, path, status: response.status, mediaType };
    const violations: string[] = [];
    const where = `${method.toUpperCase()} ${path} -> ${response.status} ${mediaType || '(no content type)'}`;

    // HEAD is GET without the body (RFC 9110 §9.3.2); Hono answers it so, and so is it checked.
    const opMethod = method === 'head' && !doc.paths[path]?.head ? 'get' : method;
    const operation = doc.paths[path]?.[opMethod];
    // A CORS preflight is answered by the CORS middleware (only when CORS_ORIGINS is set), not by
    // an operation: it is no part of the API's document.
    if (method === 'options' && request.headers.has('access-control-request-method')) return { seen, violations };
    let schemaRef: string | undefined;
    if (!operation) {
      // No documented operation: a documented path answers 405 naming the methods it lists (and
      // HEAD wherever it lists GET); any other path answers the app's 404 problem.
      const listed = Object.keys(doc.paths[path] ?? {}).map((m) => m.toUpperCase());
      if (listed.includes('GET')) listed.splice(listed.indexOf('GET') + 1, 0, 'HEAD');
      const expected = listed.length > 0 ? 405 : 404;
      if (response.status !== expected) violations.push(`${where}: undocumented operation answered other than ${expected}`);
      if (expected === 405 && response.headers.get('allow') !== listed.join(', ')) {
        violations.push(`${where}: Allow is ${response.headers.get('allow')}, the document lists ${listed.join(', ')}`);
      }
      if (mediaType !== 'application/problem+json') violations.push(`${where}: undocumented operation did not answer problem+json`);
      schemaRef = pointer('components', 'schemas', 'Problem');
    } else {
      const documented = operation.responses[String(response.status)] ?? operation.responses.default;
      if (!documented) {
        violations.push(`${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`);
      } else {
        for (const [name, header] of Object.entries(documented.headers ?? {})) {
          const value = response.headers.get(name);
          if (value === null) {
            if (header.required) violations.push(`${where}: required header ${name} missing`);
          } else if (header.schema?.type === 'integer' && !/^\d+$/.test(value)) {
            violations.push(`${where}: header ${name} is not an integer: ${value}`);
          }
        }
        const content = documented.content ?? {};
        if (Object.keys(content).length === 0) {
          if (response.body !== null && (await response.clone().text()) !== '') violations.push(`${where}: documented without content, but has a body`);
        } else if (!(mediaType in content)) {
          violations.push(`${where}: media type not documented (documented: ${Object.keys(content).join(', ')})`);
        } else if (content[mediaType]!.schema !== undefined) {
          schemaRef = pointer('paths', path, opMethod, 'responses', String(response.status), 'content', mediaType, 'schema');
        }
      }
    }

    if (schemaRef !== undefined && method !== 'head') {
      const text = await response.clone().text();
      let body: unknown = text;
      if (/[/+]json$/.test(mediaType)) {
        try {
          body = JSON.parse(text);
        } catch {
          violations.push(`${where}: body is not JSON`);
          body = undefined;
        }
      }
      if (body !== undefined) {
        const validate = validatorAt(schemaRef);
        if (!validate(body)) violations.push(`${where}: body does not match ${schemaRef}: ${ajv.errorsText(validate.errors)}`);
      }
      // RFC 9457: a problem's `status` member, when present, is the response's status.
      if (mediaType === 'application/problem+json' && body && typeof body === 'object' && (body as { status?: unknown }).status !== response.status) {
        violations.push(`${where}: problem status member ${(body as { status?: unknown }).status} differs from the HTTP status`);
      }
    }
    return { seen, violations };
  };
}

export type ContractCheck = ReturnType<typeof contractChecker>;

/** Every response checked in this test file (each file has its own module instance). */
export const contractLog: Seen[] = [];

let sharedDocument: Promise<OpenApiDocument> | undefined;

/**
 * Wraps an app's fetch so that every response is checked against the app's own /openapi.json;
 * a response that breaks the contract fails the request, and so the test that made it.
 */
export function enforceContract<A extends { fetch: (request: Request, ...rest: any[]) => Response | Promise<Response> }>(app: A): A {
  const inner = app.fetch.bind(app);
  let checker: Promise<ContractCheck> | undefined;
  // One read serves every app: the document depends on the configuration only in its servers and
  // its request limits, which a response check does not read; and an app whose deps a test broke
  // on purpose may be unable to serve it at all.
  const loadChecker = async () => {
    const loading = (sharedDocument ??= (async () => {
      const res = await inner(new Request('http://localhost/openapi.json'));
      if (res.status !== 200) throw new Error(`/openapi.json answered ${res.status}`);
      return (await res.json()) as OpenApiDocument;
    })());
    loading.catch(() => (sharedDocument = undefined));
    return contractChecker(await loading);
  };
  app.fetch = async (request: Request, ...rest: any[]) => {
    const response = await inner(request, ...rest);
    checker ??= loadChecker();
    const { seen, violations } = await (await checker)(request, response);
    contractLog.push(seen);
    if (violations.length > 0) throw new Error(`OpenAPI contract broken:\n${violations.join('\n')}`);
    return response;
  };
  return app;
}
