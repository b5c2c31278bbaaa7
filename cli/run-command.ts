/**
 * Runs `trainyard worker` or `trainyard api` in an environment `commandEnv`
 * made: the same `runWorker` / `runApi` the entry files call, with startup
 * failures naming the flags rather than the variables.
 *
 *   await runCommand('worker', commandEnv('worker', flags, process.env, process.cwd()));
 */
import type { LogLevel } from '@temporalio/worker';
import { apiSettingsFrom } from '../api/api-settings';
import { runApi } from '../api/run-api';
import { loadConfig } from '../worker/config';
import { runWorker } from '../worker/run-worker';
import type { CommandName } from './flags';

export async function runCommand(command: CommandName, env: NodeJS.ProcessEnv): Promise<void> {
  const config = loadConfig(env);
  if (command === 'worker') {
    await runWorker({ config, logLevel: (env.TRAINYARD_LOG_LEVEL ?? 'INFO') as LogLevel });
  } else {
    await runApi({ config, ...apiSettingsFrom(env), settingNames: { host: '--host', port: '--port', address: '--address' } });
  }
}
