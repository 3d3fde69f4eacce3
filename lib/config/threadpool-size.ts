import { hashCapacity, threadpoolSize } from '../crypto/threadpool.ts';
import { loadConfig, type Config } from './config.ts';

/**
 * Sets UV_THREADPOOL_SIZE in `env` (process.env) for the configuration it holds, unless the
 * operator set it. Only effective before the thread pool's first use: call it from an entry that
 * loads the rest afterwards. A configuration that does not load is left to the server to report.
 */
export function sizeThreadpool(env: NodeJS.ProcessEnv): void {
  let config: Config;
  try {
    config = loadConfig({ ...env, PUBLIC_URL: env.PUBLIC_URL || 'http://localhost' });
  } catch {
    return;
  }
  const size = threadpoolSize(hashCapacity(config), env.UV_THREADPOOL_SIZE);
  if (size !== undefined) env.UV_THREADPOOL_SIZE = String(size);
}
