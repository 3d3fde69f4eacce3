/**
 * `npm start`: gives libuv's thread pool a thread for every password hash the server will run at
 * once (lib/crypto/threadpool.ts), then starts the server (functions/server.ts). libuv reads
 * UV_THREADPOOL_SIZE only when the pool is first used, and the server's modules are loaded only
 * after it is set here, so nothing they do when loaded can start the pool at its default 4.
 */
import { sizeThreadpool } from '../lib/config/threadpool-size.ts';

sizeThreadpool(process.env);

const { main } = await import('./server.ts');
main().catch((error: unknown) => {
  console.error(`latchkey: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
