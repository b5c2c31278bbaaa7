/**
 * The worker process's work, shared by `node dist/worker/main.js` and
 * `trainyard worker`: connect to Temporal, load the pipeline modules, create or
 * update their schedules, print one line, and run until SIGTERM or SIGINT,
 * letting running steps finish within the grace time.
 *
 *   await runWorker({ config: loadConfig(), logLevel: 'INFO' });
 */
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { TrainyardConfig } from './config';
import { connectClient, connectWorker } from './connection';
import { createWorker } from './create-worker';
import { openPayloadCodec } from './payload-codec';
import { loadPipelineModules } from './registry';
import { ensureSchedules } from './schedules';
import { ensureSearchAttributes } from './search-attributes';

export interface RunWorkerOptions {
  /** Connection, task queue, pipelines, state dir...: `loadConfig()` reads them from the environment. */
  config: TrainyardConfig;
  /** The SDK's log level, printed to stdout. @default 'INFO' */
  logLevel?: LogLevel;
}

/** Runs the worker until it is told to stop; resolves once it has shut down. */
export async function runWorker({ config, logLevel = 'INFO' }: RunWorkerOptions): Promise<void> {
  Runtime.install({
    logger: new DefaultLogger(logLevel, ({ level: l, message, timestampNanos }) => {
      const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString().slice(11, 23);
      process.stdout.write(`${time} ${l.padEnd(5)} ${message}\n`);
    }),
  });
  const registry = await loadPipelineModules(config.pipelineModules);
  const payloads = await openPayloadCodec(config);
  try {
    // Schedules carry run inputs, so the client that writes them encodes as the worker decodes.
    const client = await connectClient(config, payloads?.codec);
    await ensureSearchAttributes(client.connection as Connection, config.namespace);
    const schedules = await ensureSchedules(client, registry.pipelines.values(), config.taskQueue, config.defaultRunner);
    const { run } = await createWorker({
      connection: await connectWorker(config),
      namespace: config.namespace,
      taskQueue: config.taskQueue,
      registry,
      stateDir: config.stateDir,
      artifacts: config.artifacts,
      ...(config.kubernetes ? { kubernetes: config.kubernetes } : {}),
      ...(config.s3 ? { s3: config.s3 } : {}),
      ...(payloads ? { payloadCodec: payloads.codec } : {}),
      ...(config.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: config.maxCachedWorkflows } : {}),
      ...(config.mlflow ? { mlflow: config.mlflow } : {}),
    });
    console.log(
      `trainyard worker on ${config.address}/${config.namespace}, task queue '${config.taskQueue}'; ` +
        `pipelines: ${[...registry.pipelines.keys()].join(', ')}; schedules: ${schedules.join(', ') || 'none'}` +
        (payloads ? `; ${payloads.codec.describe()}` : '') +
        (config.mlflow?.trackingUri ? `; MLflow at ${new URL(config.mlflow.trackingUri).origin}` : ''),
    );
    await run();
    await client.connection.close();
  } finally {
    payloads?.close();
  }
}
