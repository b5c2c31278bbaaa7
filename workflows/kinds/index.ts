/**
 * The table of step kinds, workflow layer: how one try of each kind runs. Its
 * type requires a row for every kind of the pipeline layer's table
 * (pipeline/kinds), so a new kind does not compile until it has one here.
 */
import type { StepKind } from '../../pipeline';
import { approvalTry } from './approval';
import { branchTry } from './branch';
import { notifyTry } from './notify';
import { podTry } from './pod';
import { processTry } from './process';
import { compareBaselineTry, promoteTry, registerModelTry } from './registry';
import { pipelineSensorTry, s3KeySensorTry } from './sensor';
import { taskTry } from './task';
import type { TryRunner } from './try';

export const TRY_RUNNERS: { [K in StepKind]: TryRunner<K> } = {
  process: processTry,
  pod: podTry,
  task: taskTry,
  branch: branchTry,
  notify: notifyTry,
  'sensor.s3Key': s3KeySensorTry,
  'sensor.pipeline': pipelineSensorTry,
  registerModel: registerModelTry,
  compareBaseline: compareBaselineTry,
  promote: promoteTry,
  approval: approvalTry,
};

export type { SensorEvents, StepEnv, StepOutcome, TryContext, TryRunner } from './try';
