// Real HTTP peers on 127.0.0.1 for the two services Latchkey asks outside itself, started in Node
// by vitest's globalSetup so that both projects reach them (a test inside workerd cannot listen;
// see webhook-receiver.global.ts). Each test names its own key in the path, so tests side by side
// never read each other's requests.
//
// The range server speaks Have I Been Pwned's range API: GET /range/<mode>/<key>/<5 hex digits>
//   ok       text/plain lines SUFFIX:COUNT, the real ones of the fixtures and ~800 padding lines
//            with count 0 (as Add-Padding: true gives), sorted as HIBP sorts them
//   slow     records the request and never answers (until the client gives up)
//   garbage  200 with an HTML page
//   status   503
// GET /range-requests/<key>: what was asked under <key>.
//
// The siteverify server speaks Cloudflare Turnstile's: POST /siteverify/<mode>/<key> with JSON or
// a form of secret, response, remoteip, idempotency_key, answering {success, error-codes, …}
//   ok       pass-… tokens succeed once; again with another idempotency key: timeout-or-duplicate;
//            again with the same key: the first answer; fail-… tokens: invalid-input-response;
//            a wrong secret: invalid-input-secret
//   slow     never answers
//   flaky    the first request under <key> gets a 500, later ones as ok
//   garbage  200 with an HTML page
// GET /siteverify-requests/<key>: what was asked under <key>.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { BREACH_COUNT, BREACHED_PASSWORD, PADDED_PASSWORD, PASSING, TURNSTILE_TEST_SECRET, type RangeRequest, type SiteverifyRequest } from './breach-fixtures.ts';
import { readBody } from './read-body.ts';

const sha1 = (text: string) => createHash('sha1').update(text.normalize('NFC')).digest('hex').toUpperCase();

/** A range as HIBP answers it with padding: real lines, then fake suffixes with count 0, sorted. */
function rangeOf(prefix: string): string {
  const lines = new Map<string, number>();
  // Some real-looking breached neighbours, the same for a prefix on every call.
  const seed = createHash('sha256').update(prefix).digest();
  for (let i = 0; i < 40; i++) lines.set(createHash('sha1').update(seed).update(String(i)).digest('hex').toUpperCase().slice(5), 1 + seed[i % 32]!);
  const breached = sha1(BREACHED_PASSWORD);
  if (breached.startsWith(prefix)) lines.set(breached.slice(5), BREACH_COUNT);
  const padded = sha1(PADDED_PASSWORD);
  if (padded.startsWith(prefix)) lines.set(padded.slice(5), 0);
  for (let i = 0; i < 800; i++) lines.set(randomBytes(20).toString('hex').toUpperCase().slice(5), 0);
  return [...lines].sort(([a], [b]) => (a < b ? -1 : 1)).map(([suffix, count]) => `${suffix}:${count}`).join('\r\n');
}

function json(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}

const HTML = '<!doctype html><html><body><h1>Service temporarily unavailable</h1></body></html>';

function listen(handler: (request: IncomingMessage, response: ServerResponse) => void) {
  const server = createServer(handler);
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () => {
          server.closeAllConnections();
          return new Promise<void>((done) => server.close(() => done()));
        },
      }),
    ),
  );
}

export default async function setup(project: TestProject) {
  const ranges = new Map<string, RangeRequest[]>();
  const verifications = new Map<string, SiteverifyRequest[]>();
  // token -> the idempotency key and answer of its first verification
  const spent = new Map<string, { key: string | undefined; answer: unknown }>();

  const { url, close } = await listen(async (request, response) => {
    const [, route, mode, key = '', prefix = ''] = (request.url ?? '/').split('/');
    if (request.method === 'GET' && route === 'range-requests') return json(response, 200, ranges.get(mode ?? '') ?? []);
    if (request.method === 'GET' && route === 'siteverify-requests') return json(response, 200, verifications.get(mode ?? '') ?? []);
    if (request.method === 'GET' && route === 'range') {
      const entry: RangeRequest = { path: request.url!, addPadding: request.headers['add-padding']?.toString() ?? null };
      ranges.set(key, [...(ranges.get(key) ?? []), entry]);
      if (mode === 'slow') return void response.on('close', () => (entry.closedByClient = true));
      if (mode === 'garbage') return void response.writeHead(200, { 'Content-Type': 'text/html' }).end(HTML);
      if (mode === 'status') return void response.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
      if (!/^[0-9A-F]{5}$/.test(prefix)) return void response.writeHead(400).end('The hash prefix was not in a valid format');
      return void response.writeHead(200, { 'Content-Type': 'text/plain' }).end(rangeOf(prefix));
    }
    if (request.method === 'POST' && route === 'siteverify') {
      const text = await readBody(request);
      const type = request.headers['content-type'] ?? null;
      const fields: Record<string, string> = type?.startsWith('application/json') ? JSON.parse(text) : Object.fromEntries(new URLSearchParams(text));
      const entry: SiteverifyRequest = { contentType: type, ...fields };
      const earlier = verifications.get(key) ?? [];
      verifications.set(key, [...earlier, entry]);
      if (mode === 'slow') return;
      if (mode === 'garbage') return void response.writeHead(200, { 'Content-Type': 'text/html' }).end(HTML);
      if (mode === 'flaky' && earlier.length === 0) return json(response, 500, { success: false, 'error-codes': ['internal-error'] });
      if (fields.secret !== TURNSTILE_TEST_SECRET) return json(response, 200, { success: false, 'error-codes': ['invalid-input-secret'] });
      const token = fields.response ?? '';
      if (!token) return json(response, 200, { success: false, 'error-codes': ['missing-input-response'] });
      const first = spent.get(token);
      if (first) {
        if (first.key !== undefined && first.key === fields.idempotency_key) return json(response, 200, first.answer);
        return json(response, 200, { success: false, 'error-codes': ['timeout-or-duplicate'], messages: [] });
      }
      const answer = token.startsWith(PASSING)
        ? { success: true, challenge_ts: new Date().toISOString(), hostname: 'accounts.example.test', 'error-codes': [], action: '', cdata: '', metadata: { ephemeral_id: 'x:test' } }
        : { success: false, 'error-codes': ['invalid-input-response'], messages: [] };
      spent.set(token, { key: fields.idempotency_key, answer });
      return json(response, 200, answer);
    }
    response.writeHead(404).end();
  });
  // A port that was just free: nothing listens there for the run.
  const dead = await listen(() => undefined);
  await dead.close();

  project.provide('rangeServerUrl', url);
  project.provide('siteverifyUrl', `${url}/siteverify`);
  project.provide('deadServerUrl', dead.url);
  return close;
}
