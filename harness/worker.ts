/** An in-process Trainyard worker on a server the harness started, on a task queue of its own. */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { ArtifactsOptions, MlflowDeps } from '../activities';
import type { S3ClientOptions } from '../activities/object-store';
import type { Pipeline } from '../pipeline';
import { createRegistry, createWorker } from '../worker';

/** A fresh state dir, so workers and runs never share files. */
export function tempStateDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'trainyard-test-'));
}

/** A client of the server that encodes and decodes with `codec`, as a worker with it does. */
export function codecClient(env: TestWorkflowEnvironment, codec: PayloadCodec): Client {
  return new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: { payloadCodecs: [codec] } });
}

export interface TestWorkerOptions {
  /** Image name -> local directory, for pod steps on the local runner. */
  localImages?: Record<string, string>;
  /** Where notify steps look up `webhookEnv` names. */
  notifyEnv?: NodeJS.ProcessEnv;
  /** @default a fresh temporary directory */
  stateDir?: string;
  /** Run pod steps on the cluster this kubeconfig reaches (namespace `default`). */
  kubeconfigPath?: string;
  maxConcurrentTries?: number;
  s3?: S3ClientOptions;
  payloadCodec?: PayloadCodec;
  /** The worker's artifact store (`loadConfig(env).artifacts`); default a folder in the state dir. */
  artifacts?: ArtifactsOptions;
  /** The environment step processes inherit, as if it were the worker's. */
  processEnv?: NodeJS.ProcessEnv;
  /** The MLflow tracking server (`{ trackingUri }`), for tracked runs and registry steps. */
  mlflow?: MlflowDeps;
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
export async function startWorker(env: TestWorkflowEnvironment, pipelines: readonly Pipeline[], options: TestWorkerOptions = {}): Promise<TestWorker> {
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
    ...(options.mlflow ? { mlflow: options.mlflow } : {}),
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
