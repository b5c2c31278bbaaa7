/**
 * `sensor.pipeline`: waits for another pipeline's run (Airflow's ExternalTaskSensor):
 * the run whose logical date is this run's minus `executionDelta`, its step `stepId`
 * (or the whole run), in one of `allowedStates`; one of `failedStates` fails the
 * sensor at once.
 *
 *   p.pipelineSensor('wait_for_features', { pipelineId: 'features', stepId: 'publish', executionDelta: '1d' });
 */
import type { StepHandle, StepOptions } from '../builder';
import { type CompiledSensorTiming, type SensorTiming, compileTiming, pipelineSensorProblems, watchedStates } from '../sensors';
import type { StepState } from '../types';
import { type CompileContext, defineKind, orDefault } from './kind';

/** A run's or a step's state as another pipeline's sensor sees it. */
export type WatchedState = StepState | 'cancelled' | 'running' | 'absent';

export interface PipelineSensorConfig extends SensorTiming {
  pipelineId: string;
  /** A step of that pipeline (full id); the whole run when absent. */
  stepId?: string;
  /** @default ['success'] */
  allowedStates?: WatchedState[];
  /** @default ['failed', 'upstream_failed'] for a step, ['failed', 'cancelled'] for a run */
  failedStates?: WatchedState[];
  /** The other run's logical date is this run's minus this duration (`1d`). @default '0s' */
  executionDelta?: string;
}

export type CompiledPipelineSensorConfig = PipelineSensorConfig &
  CompiledSensorTiming &
  Required<Pick<PipelineSensorConfig, 'allowedStates' | 'failedStates' | 'executionDelta'>>;

/** A pipeline sensor's XCom: the run it saw and the state it accepted. */
export interface WatchedRun {
  pipelineId: string;
  runId: string;
  logicalDate: string;
  stepId?: string;
  state: string;
}

export const pipelineSensorKind = defineKind({
  method: 'pipelineSensor',
  build: (adder) =>
    (id: string, config: PipelineSensorConfig, opts?: StepOptions): StepHandle<WatchedRun> => adder.add('sensor.pipeline', id, config, opts),
  compile(config: PipelineSensorConfig, ctx: CompileContext): CompiledPipelineSensorConfig {
    ctx.problems.push(...pipelineSensorProblems(config, ctx.where));
    const { allowed, failed } = watchedStates(config);
    return { ...config, ...compileTiming(config), allowedStates: allowed, failedStates: failed, executionDelta: orDefault(config.executionDelta, '0s') };
  },
});
