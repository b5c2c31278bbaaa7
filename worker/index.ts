/** Worker bootstrap pieces, shared with the API, the demo and tests. */
export { loadConfig, PROJECT_ROOT, type KubernetesAccess, type PayloadSettings, type TrainyardConfig } from './config';
export { connectClient, connectWorker } from './connection';
export { createWorker, WORKFLOW_BUNDLE_PATH, type CreateWorkerOptions, type TrainyardWorker } from './create-worker';
export { openPayloadCodec, type OpenedPayloadCodec } from './payload-codec';
export { createRegistry, loadPipelineModules, type PipelineRegistry, type RegistryEntry } from './registry';
export { PipelineModuleError, resolvePipelineModule } from './module-path';
export { runWorker, type RunWorkerOptions } from './run-worker';
export { catchupWindowOf, ensureSchedules, scheduleIdOf, scheduleOptions } from './schedules';
export { ensureSearchAttributes } from './search-attributes';
