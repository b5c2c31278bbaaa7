/**
 * The harness: the real outside world that tests and benchmarks both run
 * Trainyard against, all on loopback and from the binaries the bootstrap
 * installed: Temporal servers (dev and time-skipping), in-process workers, the
 * local S3 server, the MLflow tracking server, Trainyard's entry points as child
 * processes, and the fan-out measurement. It knows nothing of node:test: what
 * only tests need (fixtures, assertions on a run) lives in test/support/, which
 * builds on this module.
 *
 * @example
 * import { startDevServer, startWorker } from '../harness';
 *
 * const env = await startDevServer();
 * const worker = await startWorker(env, [myPipeline]);
 * try {
 *   await env.client.workflow.execute(PIPELINE_RUN_WORKFLOW, { taskQueue: worker.taskQueue, workflowId: 'one', args: [{ spec: myPipeline.spec }] });
 * } finally {
 *   await worker.stop();
 *   await env.teardown();
 * }
 */
export { eventually } from './eventually';
export { type FanoutFigures, fanoutPipeline, runFanout } from './fanout';
export { type TestMlflow, startTestMlflow } from './mlflow';
export { type NodeProcess, exitCode, spawnNode } from './process';
export { type TestS3, startTestS3 } from './s3';
export { startDevServer, startTimeSkippingServer, useLogger } from './server';
export { type TestWorker, type TestWorkerOptions, codecClient, startWorker, tempStateDir } from './worker';
