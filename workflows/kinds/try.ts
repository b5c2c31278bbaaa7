/**
 * What a try of any kind gets from the step runner, and what it gives back.
 * Deterministic: activities are imported as types only.
 */
import type { TrainyardActivities } from '../../activities';
import type { TryProgress, TryRef } from '../../contract';
import type { Json, RunContext, RunRef, StepConfigByKind, StepKind, StepOf } from '../../pipeline';
import type { ApprovalDesk } from '../approval-desk';

/** What the run tells its sensors: how many S3 events each bucket has had (a change wakes a waiting sensor in either mode). */
export interface SensorEvents {
  count(bucket: string): number;
}

/** What a step's tries need to know about the run they belong to. */
export interface StepEnv {
  run: RunRef;
  /** The step's direct followers: what a branch may choose. */
  followers: readonly string[];
  /** The run as templates and branch conditions see it. */
  context: () => RunContext;
  /** Set for one index of a mapped step. */
  mapIndex?: number;
  /** Workflow that takes the try's intermediate metrics (the mapped step's coordinator). */
  metricsTo?: string;
  /** One index of a mapped step: its values (`map.KEY`). */
  mapValues?: Record<string, Json>;
  /** Why the coordinator is stopping this index (early stopping), once it has said so. */
  stopReason?: () => string | undefined;
  /** S3 events the run has been told of: they wake waiting s3Key sensors. */
  events?: SensorEvents;
  /** The run's approval desk, where approval steps wait for their decision (absent in a mapped step's trial). */
  approvals?: ApprovalDesk;
}

export interface StepOutcome {
  xcom?: Json;
  /** For branch steps: the followers chosen. */
  chosen?: string[];
  /** Why the followers not chosen are skipped. @default `not chosen by <kind> '<step id>'` */
  notChosen?: string;
  /** The step settles as skipped, for this reason (a sensor's softFail). */
  skipped?: string;
}

export interface TryContext<K extends StepKind> {
  /** The step as the spec has it (templates not rendered). */
  step: StepOf<K>;
  /** The step's config for this try, templates rendered. */
  config: StepConfigByKind[K];
  /** Which try this is: every activity input starts from it. */
  ref: TryRef;
  env: StepEnv;
  /** The step's timeout for one try, ms. */
  timeoutMs: number;
  /** The activities, with this try's id, timeouts and retry policy. */
  acts: TrainyardActivities;
  /** The step's state: a waiting sensor writes its note here. */
  progress: TryProgress;
  /** Call after changing progress, so the run's loop looks again. */
  changed: () => void;
}

/** How one try of a kind runs. */
export type TryRunner<K extends StepKind> = (t: TryContext<K>) => Promise<StepOutcome>;
