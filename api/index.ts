/**
 * Trainyard's HTTP API: start pipeline runs and read their live state.
 *
 *   const app = await createApp({ client, registry, taskQueue });
 *   await app.listen(3000, '127.0.0.1');
 *
 *   GET  /pipelines               registered pipelines
 *   GET  /pipelines/:id           one pipeline's spec and version
 *   POST /pipelines/:id/runs      start a run (201, 400, 404, 409)
 *   GET  /runs/:runId             a run's state: status, steps, XCom
 *   GET  /approvals               approval steps waiting for a decision, across runs
 *   POST /runs/:runId/steps/:stepId/approval   approve or reject one (200, 400, 404, 409)
 *   POST /codec/decode, /encode   Temporal's remote codec protocol, for the Web UI
 *
 * `node dist/api/main.js` and `trainyard api` serve it with the worker's
 * configuration, through `runApi`.
 */
export { createApp, type AppDeps } from './app';
export { TEMPORAL_CLIENT, PIPELINE_REGISTRY, TASK_QUEUE, TEMPORAL_UI_URL, type Token } from './temporal/temporal.tokens';
export type { RunCreated } from './runs/dto/run-created';
export type { PendingApproval } from './approvals/dto/pending-approval';
export type { PipelineDetail, PipelineSummary } from './pipelines/pipelines.controller';
export { runApi, ENV_SETTING_NAMES, type RunApiOptions, type SettingNames } from './run-api';
export { apiSettingsFrom, codecOriginsFrom, type ApiSettings } from './api-settings';
export { hostFrom, portFrom, DEFAULT_API_HOST, DEFAULT_API_PORT } from './listen-address';
