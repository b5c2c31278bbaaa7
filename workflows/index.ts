/** Workflow entry points registered with the worker. Deterministic code only. */
export { pipelineRun } from './pipeline-run';
export { mapStep, mapTrial } from './map-step';
