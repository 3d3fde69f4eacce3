// A real HTTP receiver for the webhook transport's tests, started in Node by vitest's globalSetup
// so that both projects reach the same kind of peer: the workerd project's tests cannot open a
// listening socket themselves, but workerd's fetch reaches 127.0.0.1. Each test names its own
// path (a random key), so that tests running side by side never read each other's requests.
//
//   POST /status/<code>/<key>  records the request and answers <code>
//   POST /verify/<key>         answers 200 if Latchkey-Signature verifies with WEBHOOK_TEST_SECRET, else 401
//   POST /slow/<key>           records the request and never answers (until the client gives up)
//   GET  /received/<key>       the requests recorded under <key>, as JSON
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestProject } from 'vitest/node';
import { verifyWebhookSignature } from '../../lib/mail/transports/webhook.ts';
import { readBody } from './read-body.ts';

export const WEBHOOK_TEST_SECRET = 'whsec-test-0123456789abcdef0123456789abcdef';

export interface ReceivedWebhook {
  signature: string | null;
  contentType: string | null;
  body: string;
  /** Set once the client has closed a /slow request. */
  closedByClient?: boolean;
}

declare module 'vitest' {
  interface ProvidedContext {
    webhookReceiverUrl: string;
    webhookTestSecret: string;
  }
}

export default async function setup(project: TestProject) {
  const received = new Map<string, ReceivedWebhook[]>();
  const server = createServer(async (request, response) => {
    const [, route, ...rest] = (request.url ?? '/').split('/');
    if (request.method === 'GET' && route === 'received') {
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(received.get(rest[0] ?? '') ?? []));
      return;
    }
    const key = rest.at(-1) ?? '';
    const entry: ReceivedWebhook = {
      signature: request.headers['latchkey-signature']?.toString() ?? null,
      contentType: request.headers['content-type'] ?? null,
      body: await readBody(request),
    };
    received.set(key, [...(received.get(key) ?? []), entry]);
    if (route === 'status') {
      response.writeHead(Number(rest[0])).end();
    } else if (route === 'verify') {
      const ok = await verifyWebhookSignature(WEBHOOK_TEST_SECRET, entry.signature, entry.body, Math.floor(Date.now() / 1000));
      response.writeHead(ok ? 200 : 401).end();
    } else if (route === 'slow') {
      response.on('close', () => (entry.closedByClient = true));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  project.provide('webhookReceiverUrl', `http://127.0.0.1:${port}`);
  project.provide('webhookTestSecret', WEBHOOK_TEST_SECRET);
  return async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}
