/** Trainyard's MLflow activities: tracking (runs and tries) and the registry steps, sharing one client. */
import { createRegistryActivities } from './registry';
import { type MlflowDeps, createTrackingActivities, mlflowClientOf } from './tracking';

export function createMlflowActivities(deps: MlflowDeps = {}) {
  const mlflow = mlflowClientOf(deps);
  return { ...createTrackingActivities(mlflow, deps), ...createRegistryActivities(mlflow, deps.client !== undefined || Boolean(deps.trackingUri)) };
}

export { MlflowClient, MlflowError, tagClause, tagOf } from './client';
export { REGISTRY_TAGS, type VersionSummary } from './registry';
export { TRAINYARD_TAGS, type MlflowDeps, type TrackedEnd, mlflowEnv } from './tracking';
