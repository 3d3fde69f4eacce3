/**
 * GET /openapi.json: the document as this server runs. The generator writes it from the routes'
 * schemas and answer tables; what it cannot know comes from the configuration the server started
 * with: the server's URL (PUBLIC_URL) and the limits that schemas mark with `x-from-config` (the
 * password policy). Built from the request's configuration, so it is never stale, and kept per app
 * and configuration: building it costs milliseconds of CPU, and neither changes while they serve.
 */
import { createRoute, z, type OpenAPIHono } from '@hono/zod-openapi';
import type { Config } from '../config/config.ts';
import type { AppEnv } from './context.ts';
import { responsesOf, TAGS } from './openapi.ts';
import { FROM_CONFIG, type ConfiguredLimit } from './schemas.ts';

const DOCUMENT_PATH = '/openapi.json';

const INFO = {
  title: 'Latchkey',
  version: '0.1.0',
  description:
    'Email + password accounts with activation links. Errors are RFC 9457 problem details. ' +
    'A path that is not listed here answers 404, and a method that a listed path does not list answers 405 with an ' +
    'Allow header naming the ones it does; both with a Problem body. Only the operations tagged sessions need credentials: ' +
    'the session token from POST /login as a bearer token.',
  // The project has not chosen a licence; npm's word for "none granted" says so.
  license: { name: 'UNLICENSED' },
};

/** The route that serves the document, described in the document like every other. */
export const documentRoute = createRoute({
  method: 'get',
  path: DOCUMENT_PATH,
  operationId: 'getOpenApiDocument',
  summary: 'This OpenAPI 3.1 document',
  description: "The document as this server runs: its URL and the password policy's limits come from its configuration.",
  tags: ['service'],
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document',
      content: { 'application/json': { schema: z.object({ openapi: z.string() }).passthrough().openapi({ description: 'An OpenAPI 3.1 document' }) } },
    },
    ...responsesOf({}),
  },
});

type Json = unknown;

/** Fills in every `x-from-config` marker with the limits it names, and drops the marker. */
function fillFromConfig(node: Json, config: Config): void {
  if (Array.isArray(node)) return node.forEach((item) => fillFromConfig(item, config));
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, Json>;
  const limit = record['x-from-config'];
  if (limit !== undefined) {
    delete record['x-from-config'];
    Object.assign(record, FROM_CONFIG[limit as ConfiguredLimit](config));
  }
  for (const value of Object.values(record)) fillFromConfig(value, config);
}

type Document = ReturnType<OpenAPIHono<AppEnv>['getOpenAPI31Document']>;

const built = new WeakMap<OpenAPIHono<AppEnv>, WeakMap<Config, Document>>();

/** The document for this app and configuration; the same object on every call, so do not change it. */
export function documentFor(app: OpenAPIHono<AppEnv>, config: Config): Document {
  const forApp = built.get(app) ?? new WeakMap<Config, Document>();
  built.set(app, forApp);
  const cached = forApp.get(config);
  if (cached) return cached;
  const doc = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: INFO,
    servers: [{ url: config.publicUrl, description: 'This server (its PUBLIC_URL)' }],
    // None by default; the session routes name the bearer scheme themselves (lib/http/bearer-routes.ts).
    security: [],
    tags: Object.entries(TAGS).map(([name, description]) => ({ name, description })),
  });
  fillFromConfig(doc, config);
  forApp.set(config, doc);
  return doc;
}

/** OpenAPI's `{name}` path templates as patterns over a request's path. */
const templatePattern = (path: string) => new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`);

/**
 * The methods that the document lists at `path` (HEAD wherever GET is: Hono answers it), empty
 * when it lists none: what a 405's Allow header says.
 */
export function methodsAt(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== 'route' || !templatePattern(definition.route.path).test(path)) continue;
    methods.add(definition.route.method.toUpperCase());
    if (definition.route.method === 'get') methods.add('HEAD');
  }
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
  return [...methods].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}
