/**
 * `npm start` servers and temporary folders for the tests of one file: each test starts what it
 * needs, and whatever is still running or lying around is stopped and removed after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { startServer, type ServerProcess } from '../../scripts/support/server-process.ts';

export function serversForEachTest() {
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return {
    async npmStart(env: Record<string, string>): Promise<ServerProcess> {
      const server = await startServer(env);
      servers.push(server);
      return server;
    },
    /** Stops a server before the test ends (SIGTERM, or kill -9 with 'SIGKILL'). */
    async stop(server: ServerProcess, signal?: NodeJS.Signals): Promise<void> {
      await server.stop(signal);
      servers.splice(servers.indexOf(server), 1);
    },
    /** A database path in a fresh temporary folder. */
    databasePath(prefix: string): string {
      const dir = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(dir);
      return join(dir, 'accounts.sqlite');
    },
  };
}
