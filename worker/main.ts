/**
 * The worker process: `node dist/worker/main.js`, configured by the environment
 * (worker/config.ts; TRAINYARD_LOG_LEVEL sets the SDK's log level, @default INFO).
 * `trainyard worker` runs the same with flags. Startup failures print one line
 * and exit 1.
 */
import type { LogLevel } from '@temporalio/worker';
import { loadConfig } from './config';
import { runWorker } from './run-worker';

async function main(): Promise<void> {
  await runWorker({ config: loadConfig(), logLevel: (process.env.TRAINYARD_LOG_LEVEL ?? 'INFO') as LogLevel });
}

main().catch((err: unknown) => {
  console.error(`trainyard worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
