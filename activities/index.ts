/**
 * Activities: all of Trainyard's I/O. Built by factories so the worker and
 * tests inject what they need:
 *
 *   const activities = createActivities({ dataDir, images, secretsDir, artifacts: { baseUri: 's3://bucket' }, tasks });
 *   Worker.create({ activities, ... });
 *
 * Workflows import these as types only.
 */
import type { TaskDefinition } from '../pipeline';
import type { RunState } from '../contract';
import { type NotifyDeps, createNotifyActivities } from './notify';
import { type ProcessRunnerDeps, createProcessActivities } from './process-runner';
import { createTaskActivities } from './task-runner';
import { type SensorDeps, createSensorActivities } from './sensors';
import { type PodRunnerDeps, createPodActivities } from './kubernetes/run-pod';
import { failure } from '../contract';
import { type MlflowDeps, createMlflowActivities } from './mlflow';

export * from './types';
export { ARTIFACTS_URI_ENV, artifactsUri, type ArtifactsOptions } from './artifacts';
export { runDirectory } from './process-runner';
export { MlflowClient, MlflowError, REGISTRY_TAGS, TRAINYARD_TAGS, type MlflowDeps, type TrackedEnd } from './mlflow';
export { createPodManager, type PodManager } from './kubernetes/pod-manager';
export type { RunPodInput } from './kubernetes/run-pod';
export type { PipelineCheck, PokeSensorInput, S3KeyCheck, SensorCheckInput, SensorResult } from './sensors';

export interface ActivityDeps extends ProcessRunnerDeps {
  tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>;
  notify?: NotifyDeps;
  /** Kubernetes access for `pod` steps with `runner: 'kubernetes'`; without it such steps fail clearly. */
  kubernetes?: Omit<PodRunnerDeps, 'artifacts'>;
  /** S3 access for s3Key sensors. */
  s3?: SensorDeps['s3'];
  /** The MLflow tracking server, for tracked runs and registry steps. */
  mlflow?: MlflowDeps;
}

const noKubernetes = {
  runPod(): Promise<never> {
    return Promise.reject(
      failure('noKubernetes', 'this worker has no Kubernetes access; set KUBECONFIG (or run it in a cluster) to run pod steps with runner kubernetes'),
    );
  },
};

/** The tracking URL pods get: the in-cluster one where it differs from the worker's. */
function podTracking(mlflow: MlflowDeps | undefined): { mlflowTrackingUri?: string } {
  const uri = mlflow?.podTrackingUri ?? mlflow?.trackingUri;
  return uri ? { mlflowTrackingUri: uri } : {};
}

export function createActivities(deps: ActivityDeps) {
  return {
    ...createProcessActivities({ ...deps, ...(deps.mlflow?.trackingUri ? { mlflowTrackingUri: deps.mlflow.trackingUri } : {}) }),
    ...createMlflowActivities(deps.mlflow),
    ...createTaskActivities(deps.tasks, deps.artifacts),
    ...createNotifyActivities(deps.notify),
    ...createSensorActivities(deps.s3 ? { s3: deps.s3 } : {}),
    /**
     * Does nothing: a cancelled run calls it with its final state so the state is in history
     * (the activity's input) and readable with no worker running.
     */
    recordRunEnd: async (_state: RunState): Promise<void> => {},
    ...(deps.kubernetes ? createPodActivities({ ...deps.kubernetes, artifacts: deps.artifacts, ...podTracking(deps.mlflow) }) : (noKubernetes as ReturnType<typeof createPodActivities>)),
  };
}

export type TrainyardActivities = ReturnType<typeof createActivities>;
