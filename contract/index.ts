/**
 * The run's public contract, below workflows/ and activities/ alike: every
 * workflow name, signal, query and update, input/result/view type, search attribute,
 * the failure taxonomy and the builder of visibility queries. Clients of a run
 * (activities, the API, the worker, scripts, benchmarks, users' own Temporal
 * clients as `trainyard/client`) import this, never a file of workflows/.
 *
 *   import { PIPELINE_RUN_WORKFLOW, runStateQuery, type RunState } from 'trainyard/client';
 */
export * from './run';
export * from './map';
export * from './search';
export * from './failures';
export * from './tries';
export * from './approval';
export { type RunRef, type Runner, RUNNERS, isRunner, resolveRunner } from '../pipeline/run-ref';
