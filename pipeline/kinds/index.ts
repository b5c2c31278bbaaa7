/**
 * The table of step kinds, pipeline layer: each kind's builder method and
 * compile step. A new kind is a module in this folder plus one row here (and a
 * row in workflows/kinds for how its try runs, and its activity); the types of
 * the spec, the builder and the interpreter follow from these rows.
 */
import { approvalKind } from './approval';
import { branchKind } from './branch';
import type { CompileContext, StepAdder } from './kind';
import { notifyKind } from './notify';
import { pipelineSensorKind } from './pipeline-sensor';
import { podKind } from './pod';
import { processKind } from './process';
import { compareBaselineKind, promoteKind, registerModelKind } from './registry';
import { s3KeySensorKind } from './s3-key-sensor';
import { taskKind } from './task';

export const STEP_KIND_TABLE = {
  process: processKind,
  pod: podKind,
  task: taskKind,
  branch: branchKind,
  notify: notifyKind,
  'sensor.s3Key': s3KeySensorKind,
  'sensor.pipeline': pipelineSensorKind,
  registerModel: registerModelKind,
  compareBaseline: compareBaselineKind,
  promote: promoteKind,
  approval: approvalKind,
} as const;

type Table = typeof STEP_KIND_TABLE;
export type StepKind = keyof Table;
export const STEP_KINDS = Object.keys(STEP_KIND_TABLE) as StepKind[];

type CompiledOf<D> = D extends { compile(config: never, ctx: CompileContext): infer C } ? C : never;
type UserOf<D> = D extends { compile(config: infer U, ctx: CompileContext): unknown } ? U : never;

/** Each kind's config as a compiled spec holds it: validated, defaults filled in. */
export type StepConfigByKind = { [K in StepKind]: CompiledOf<Table[K]> };
/** Each kind's config as written. */
export type StepOptionsByKind = { [K in StepKind]: UserOf<Table[K]> };

/** The builder's methods, one per kind (`p.pod`, `p.s3KeySensor`, ...). */
export type KindMethods = { [K in StepKind as Table[K]['method']]: ReturnType<Table[K]['build']> };

/** Makes every kind's builder method for one builder. */
export function kindMethods(adder: StepAdder): KindMethods {
  return Object.fromEntries(Object.values(STEP_KIND_TABLE).map((kind) => [kind.method, kind.build(adder)])) as KindMethods;
}

export function isStepKind(value: unknown): value is StepKind {
  return typeof value === 'string' && Object.hasOwn(STEP_KIND_TABLE, value);
}

export type { CompileContext, StepAdder } from './kind';
export { APPROVAL_DEFAULTS, APPROVAL_ON_TIMEOUT, type ApprovalConfig, type ApprovalOnTimeout, type ApprovalRecord, type CompiledApprovalConfig } from './approval';
export type { BranchCase, BranchConfig, BranchOptions } from './branch';
export type { NotifyConfig } from './notify';
export type { CompiledPipelineSensorConfig, PipelineSensorConfig, WatchedRun, WatchedState } from './pipeline-sensor';
export { ON_FINISH_ACTIONS, POD_DEFAULTS, type CompiledPodConfig, type EnvVar, type OnFinishAction, type PodConfig } from './pod';
export type { ProcessConfig } from './process';
export {
  BETTER,
  type Better,
  type CompareBaselineConfig,
  type Comparison,
  type CompiledCompareBaselineConfig,
  type CompiledPromoteConfig,
  type Promotion,
  type PromoteConfig,
  type RegisterModelConfig,
  type RegisteredVersion,
  type Valued,
} from './registry';
export type { CompiledS3KeySensorConfig, S3KeyMatches, S3KeySensorConfig } from './s3-key-sensor';
export type { CompiledTaskConfig, TaskConfig } from './task';
