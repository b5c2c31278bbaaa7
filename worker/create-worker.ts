/**
 * Builds a Trainyard worker: pipelineRun plus every activity, wired to a
 * pipeline registry. Production and tests alike load the prebuilt workflow
 * bundle (`npm run build`); without one it bundles from source, and says so.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { PayloadCodec } from '@temporalio/common';
import { type NativeConnection, Worker } from '@temporalio/worker';
import { type ArtifactsOptions, type MlflowDeps, createActivities, createPodManager } from '../activities';
import { type S3ClientOptions, createS3Client } from '../activities/object-store';
import { PooledKubeConfig } from '../activities/kubernetes/kube-config';
import { type KubernetesAccess, artifactsOptionsFrom } from './config';
import type { PipelineRegistry } from './registry';

/** Where `npm run build` writes the workflow bundle. */
export const WORKFLOW_BUNDLE_PATH = path.resolve(__dirname, '..', 'workflow-bundle.js');

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  registry: PipelineRegistry;
  stateDir: string;
  /** Overrides the environment `notify` reads webhook URLs from. */
  notifyEnv?: NodeJS.ProcessEnv;
  /** Where steps keep their artifacts (`loadConfig().artifacts`). @default under `file://<stateDir>/artifacts` */
  artifacts?: ArtifactsOptions;
  /** Overrides the environment local step processes inherit (credentials included). @default process.env */
  processEnv?: NodeJS.ProcessEnv;
  /** Grace for running activities on shutdown. @default '10s' */
  shutdownGraceTime?: string;
  /** Kubernetes access for pod steps on the Kubernetes runner. */
  kubernetes?: KubernetesAccess;
  /** S3 access for s3Key sensors. */
  s3?: S3ClientOptions;
  /** Tries this worker runs at once (pods it watches at once, for pod steps). @default 200 */
  maxConcurrentTries?: number;
  /**
   * Encodes every payload this worker writes and decodes every one it reads (workflow and
   * activity inputs and results, child inputs, signals, queries, heartbeats, and the
   * signals its activities send). Clients of the same workflows must use the same codec.
   * @default none: payloads go to history as the payload converter made them
   */
  payloadCodec?: PayloadCodec;
  /** The MLflow tracking server, for tracked runs and registry steps. */
  mlflow?: MlflowDeps;
  /** Runs kept in memory between workflow tasks (an evicted run replays its history). @default the SDK's */
  maxCachedWorkflows?: number;
}

function kubeConfigOf(access: KubernetesAccess): PooledKubeConfig {
  const kc = new PooledKubeConfig();
  if (access.inCluster) kc.loadFromCluster();
  else kc.loadFromFile(access.kubeconfigPath ?? '');
  return kc;
}

/** A worker and what it opened beside it: `run()` runs it and closes those when it stops. */
export interface TrainyardWorker {
  worker: Worker;
  run: () => Promise<void>;
}

export async function createWorker(options: CreateWorkerOptions): Promise<TrainyardWorker> {
  const pods = options.kubernetes ? createPodManager(kubeConfigOf(options.kubernetes)) : undefined;
  const s3 = options.s3 ? createS3Client(options.s3) : undefined;
  const activities = createActivities({
    dataDir: path.join(options.stateDir, 'data'),
    secretsDir: path.join(options.stateDir, 'secrets'),
    images: options.registry.images,
    tasks: options.registry.tasks,
    artifacts: options.artifacts ?? artifactsOptionsFrom({}, options.stateDir),
    ...(options.processEnv ? { processEnv: options.processEnv } : {}),
    ...(options.notifyEnv ? { notify: { env: options.notifyEnv } } : {}),
    ...(pods && options.kubernetes ? { kubernetes: { pods, namespace: options.kubernetes.namespace } } : {}),
    ...(s3 ? { s3 } : {}),
    ...(options.mlflow ? { mlflow: options.mlflow } : {}),
  });
  // Sync the default namespace's pod watch before taking work, so the first pod step does not
  // pay for the list; an unreachable API server only delays that to the first pod step.
  if (pods && options.kubernetes) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      pods.watch(options.kubernetes.namespace).catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, 10_000))),
    ]);
    clearTimeout(timer);
  }
  const workflows = existsSync(WORKFLOW_BUNDLE_PATH)
    ? { workflowBundle: { codePath: WORKFLOW_BUNDLE_PATH } }
    : { workflowsPath: require.resolve('../workflows') };
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities,
    ...workflows,
    ...(options.payloadCodec ? { dataConverter: { payloadCodecs: [options.payloadCodec] } } : {}),
    shutdownGraceTime: options.shutdownGraceTime ?? '10s',
    maxConcurrentActivityTaskExecutions: options.maxConcurrentTries ?? 200,
    ...(options.maxCachedWorkflows !== undefined ? { maxCachedWorkflows: options.maxCachedWorkflows } : {}),
    // A try learns it was cancelled (run cancelled, trial pruned) only from a heartbeat's reply;
    // by default heartbeats go out every 8 s, so a pruned trial would train on for seconds.
    maxHeartbeatThrottleInterval: '1s',
    defaultHeartbeatThrottleInterval: '1s',
  });
  return {
    worker,
    run: async () => {
      try {
        await worker.run();
      } finally {
        await pods?.close();
        s3?.destroy();
      }
    },
  };
}
