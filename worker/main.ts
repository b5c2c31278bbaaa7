/**
 * The worker process: `node dist/worker/main.js`. Connects to Temporal, loads
 * the pipeline modules, creates or updates their schedules, and runs until
 * SIGTERM or SIGINT, letting running steps finish within the grace time.
 */
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { loadConfig } from './config';
import { connectClient, connectWorker } from './connection';
import { createWorker } from './create-worker';
import { openPayloadCodec } from './payload-codec';
import { loadPipelineModules } from './registry';
import { ensureSchedules } from './schedules';
import { ensureSearchAttributes } from './search-attributes';

async function main(): Promise<void> {
  const level = (process.env.TRAINYARD_LOG_LEVEL ?? 'INFO') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, ({ level: l, message, timestampNanos }) => {
      const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString().slice(11, 23);
      process.stdout.write(`${time} ${l.padEnd(5)} ${message}\n`);
    }),
  });
  const config = loadConfig();
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
    });
    console.log(
      `trainyard worker on ${config.address}/${config.namespace}, task queue '${config.taskQueue}'; ` +
        `pipelines: ${[...registry.pipelines.keys()].join(', ')}; schedules: ${schedules.join(', ') || 'none'}` +
        (payloads ? `; ${payloads.codec.describe()}` : ''),
    );
    await run();
    await client.connection.close();
  } finally {
    payloads?.close();
  }
}

main().catch((err: unknown) => {
  console.error(`trainyard worker: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
