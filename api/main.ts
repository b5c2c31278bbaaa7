/**
 * The API process: `node dist/api/main.js`, configured by the environment: the
 * worker's settings (worker/config.ts: TEMPORAL_*, TRAINYARD_TASK_QUEUE,
 * TRAINYARD_PIPELINES, TRAINYARD_PAYLOAD_*) and the API's own (api/api-settings.ts:
 * TRAINYARD_API_HOST, TRAINYARD_API_PORT, ...). `trainyard api` runs the same
 * with flags. It serves until SIGINT or SIGTERM; startup failures print one
 * line and exit 1.
 */
import { loadConfig } from '../worker';
import { apiSettingsFrom } from './api-settings';
import { runApi } from './run-api';

async function main(): Promise<void> {
  const config = loadConfig();
  await runApi({ config, ...apiSettingsFrom(process.env) });
}

// Startup failures are one line without a stack: each message says what to do.
main().catch((err: unknown) => {
  console.error(`trainyard api: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
