/**
 * Real Temporal servers, from the binaries the bootstrap installed (never a
 * download): the dev server, and the time-skipping server where durable timers
 * would make a test slow.
 */
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, type Logger, Runtime } from '@temporalio/worker';
import { searchAttributes } from '../contract';
import { ensureSearchAttributes } from '../worker';

let runtimeInstalled = false;
function quietRuntime(): void {
  useLogger(new DefaultLogger((process.env.TRAINYARD_TEST_LOG_LEVEL ?? 'WARN') as 'WARN'));
}

/** Installs the process's Temporal runtime with this logger, unless one is installed already. */
export function useLogger(logger: Logger): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger });
}

function binary(variable: string): string {
  const value = process.env[variable];
  if (!value) throw new Error(`${variable} is not set; run the tests with npm test, which bootstraps the Temporal binaries`);
  return value;
}

/** A dev server on a free port, with Trainyard's search attributes registered. */
export async function startDevServer(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: binary('TRAINYARD_TEMPORAL_BIN') },
      ip: '127.0.0.1',
      searchAttributes: Object.values(searchAttributes),
    },
  });
}

/** The time-skipping test server: timers complete as soon as nothing else is pending. */
export async function startTimeSkippingServer(): Promise<TestWorkflowEnvironment> {
  quietRuntime();
  const env = await TestWorkflowEnvironment.createTimeSkipping({
    server: { executable: { type: 'existing-path', path: binary('TRAINYARD_TEST_SERVER_BIN') } },
  });
  await ensureSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}
