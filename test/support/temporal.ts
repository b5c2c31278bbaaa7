/**
 * Real Temporal servers for tests, from the binaries the bootstrap installed
 * (never a download): the dev server for most tests, the time-skipping server
 * where durable timers would make a test slow.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, type Logger, Runtime, type Worker } from '@temporalio/worker';
import type { S3ClientOptions } from '../../activities/object-store';
import type { ArtifactsOptions } from '../../activities';
import type { Pipeline } from '../../pipeline';
import { createRegistry, createWorker, ensureSearchAttributes } from '../../worker';
import {
  PIPELINE_RUN_WORKFLOW,
  type PipelineRunInput,
  type RunState,
  runStateQuery,
  searchAttributes,
} from '../../contract';

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

/** A fresh state dir per test file, so runs never share files. */
export function tempStateDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'trainyard-test-'));
}

/** A client of the test server that encodes and decodes with `codec`, as a worker with it does. */
export function codecClient(env: TestWorkflowEnvironment, codec: PayloadCodec): Client {
  return new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: { payloadCodecs: [codec] } });
}

export interface TestWorker {
  worker: Worker;
  /** A client whose payload codec matches the worker's (the environment's own client when it has none). */
  client: Client;
  taskQueue: string;
  stateDir: string;
  /** Resolves when the worker has stopped. */
  stopped: Promise<void>;
  stop(): Promise<void>;
}

/** Starts a worker for the given pipelines on its own task queue. */
export async function startWorker(
  env: TestWorkflowEnvironment,
  pipelines: readonly Pipeline[],
  options: {
    localImages?: Record<string, string>;
    notifyEnv?: NodeJS.ProcessEnv;
    stateDir?: string;
    kubeconfigPath?: string;
    maxConcurrentTries?: number;
    s3?: S3ClientOptions;
    payloadCodec?: PayloadCodec;
    /** The worker's artifact store (`loadConfig(env).artifacts`); default a folder in the state dir. */
    artifacts?: ArtifactsOptions;
    /** The environment step processes inherit, as if it were the worker's. */
    processEnv?: NodeJS.ProcessEnv;
  } = {},
): Promise<TestWorker> {
  const taskQueue = `test-${randomUUID()}`;
  const stateDir = options.stateDir ?? tempStateDir();
  const registry = createRegistry(pipelines.map((pipeline) => ({ pipeline, ...(options.localImages ? { localImages: options.localImages } : {}) })));
  const { worker, run } = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    registry,
    stateDir,
    shutdownGraceTime: '2s',
    ...(options.notifyEnv ? { notifyEnv: options.notifyEnv } : {}),
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    ...(options.processEnv ? { processEnv: options.processEnv } : {}),
    ...(options.kubeconfigPath ? { kubernetes: { kubeconfigPath: options.kubeconfigPath, namespace: 'default' } } : {}),
    ...(options.maxConcurrentTries ? { maxConcurrentTries: options.maxConcurrentTries } : {}),
    ...(options.s3 ? { s3: options.s3 } : {}),
    ...(options.payloadCodec ? { payloadCodec: options.payloadCodec } : {}),
  });
  const stopped = run();
  return {
    worker,
    client: options.payloadCodec ? codecClient(env, options.payloadCodec) : env.client,
    taskQueue,
    stateDir,
    stopped,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await stopped;
    },
  };
}

/** Starts a pipeline run, with the worker's client (so with its payload codec). */
export async function startRun(
  _env: TestWorkflowEnvironment,
  worker: TestWorker,
  pipeline: Pipeline,
  input: Omit<PipelineRunInput, 'spec'> & { workflowId?: string } = {},
): Promise<WorkflowHandle> {
  const { workflowId, ...rest } = input;
  return worker.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: workflowId ?? `${pipeline.spec.id}-${randomUUID()}`,
    args: [{ spec: pipeline.spec, pipelineVersion: pipeline.version, logicalDate: '2026-03-01T00:00:00Z', ...rest } satisfies PipelineRunInput],
  });
}

export interface Finished {
  state: RunState;
  /** The run's failure message when it failed. */
  error?: string;
}

/** Runs a pipeline to the end and returns its final state, whether it succeeded or failed. */
export async function runToEnd(
  env: TestWorkflowEnvironment,
  worker: TestWorker,
  pipeline: Pipeline,
  input: Omit<PipelineRunInput, 'spec'> & { workflowId?: string } = {},
): Promise<Finished> {
  const handle = await startRun(env, worker, pipeline, input);
  let error: string | undefined;
  try {
    await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    error = err.cause?.message ?? err.message;
  }
  const state = await handle.query(runStateQuery);
  return error === undefined ? { state } : { state, error };
}

/** The state of one step; fails the test if the step does not exist. */
export function step(state: RunState, id: string): RunState['steps'][number] {
  const found = state.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step '${id}' in run ${state.run.runId}`);
  return found;
}

/** Map of step id -> state, for compact assertions. */
export function states(state: RunState): Record<string, string> {
  return Object.fromEntries(state.steps.map((s) => [s.id, s.state]));
}

/** Polls until `check` returns a value, or fails after the deadline. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${lastError instanceof Error ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

