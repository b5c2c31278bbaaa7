/**
 * Trainyard's pipeline model: spec types, the builder, validation, templating,
 * trigger rules. Pure TypeScript with no I/O, so workflows, the worker and the
 * API all import it.
 *
 *   import { pipeline, defineTask } from '../pipeline';
 */
export * from './types';
export * from './errors';
export { graphOf, type GraphGroup, type GraphNode, type PipelineGraph } from './graph-view';
export { parseDuration, formatDuration } from './duration';
export { BUILTIN_VARIABLES, type RunContext, type Variable, type VariableScope, parseVariable, lookupVariable } from './variables';
export { renderString, renderValue, isXComRef, isMapRef, type MapRef, scanValue, parseLiteral } from './template';
export { parseCondition, evaluateCondition, conditionSteps, type Condition } from './condition';
export { decideTrigger, type TriggerDecision } from './trigger-rules';
export { followersOf, findCycle, ancestorsOf, leavesOf } from './graph';
export { compileSpec, pipelineProblems, validatePipeline, SCHEDULE_PRESETS, MIN_CATCHUP_MS, type ValidateOptions } from './validate';
export { sha256Hex, canonicalJson, specVersion } from './hash';
export { defineTask, type TaskContext, type TaskDefinition } from './task';
export { pipeline, mapValue, type PipelineBuilder, type GroupHandle, type Upstream, type Ref, type MapValue, type Pipeline, type PipelineOptions, type StepHandle, type StepOptions, type Output, type Args, type Arg } from './builder';
export * from './kinds';
export { resolveParams } from './params';
export { RUNNERS, type MlflowRunRef, type Runner, type RunRef, isRunner, resolveRunner } from './run-ref';
export { MapError, resolveMap, mapValues, mapDefaults, checkMapLength, mapProblems, MAX_ACTIVE_LIMIT, type ResolvedMap, type MapDefaults } from './mapping';
export { gridSearch, randomSearch, selectBest, gridSearchTask, randomSearchTask, selectBestTask, type Distribution } from './search';
export { MedianStopping, type StoppingState, type StoppingVerdict, type TrialRecord } from './early-stopping';
export { METRIC_LINE_PREFIX, parseMetricLine, type MetricLine } from './metrics';
export {
  SENSOR_DEFAULTS,
  compileTiming,
  sensorTiming,
  type SensorTiming,
  type CompiledSensorTiming,
  nextPokeDelay,
  rescheduleDelay,
  MAX_RESCHEDULE_CHECKS,
  globPrefix,
  globToRegExp,
  isGlob,
  matchKeyTemplate,
  judgeWatchedState,
  watchedStates,
  type CompiledTiming,
  type WatchVerdict,
} from './sensors';
