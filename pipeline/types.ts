/**
 * The pipeline spec: plain JSON that every run carries in its input.
 *
 * Everything here must survive `JSON.stringify` unchanged, because the spec is
 * the workflow's input and Temporal's history is its record.
 */
import type { StepConfigByKind, StepKind, StepOptionsByKind } from './kinds';
import type { Runner } from './run-ref';

/** Airflow's trigger rules, with Airflow's meaning. */
export const TRIGGER_RULES = [
  'all_success',
  'all_failed',
  'all_done',
  'all_done_min_one_success',
  'all_skipped',
  'one_success',
  'one_failed',
  'one_done',
  'none_failed',
  'none_failed_min_one_success',
  'none_skipped',
  'always',
] as const;
export type TriggerRule = (typeof TRIGGER_RULES)[number];

/** Where a step is in its life. Terminal states are the last four. */
export type StepState = 'queued' | 'running' | 'up_for_retry' | 'success' | 'failed' | 'skipped' | 'upstream_failed';

/** The states of one index of a mapped step; `pruned` means stopped early, neither success nor failure. */
export type TrialState = 'pending' | 'running' | 'success' | 'failed' | 'pruned';
export const TERMINAL_STEP_STATES: readonly StepState[] = ['success', 'failed', 'skipped', 'upstream_failed'];

/** JSON values: what XCom, params and task arguments may hold. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/**
 * A typed reference to an upstream step's output, kept in the spec as data.
 * The interpreter replaces it with the XCom value before the step runs.
 */
export interface XComRef {
  $xcom: string;
  key?: string;
}

/** Retry settings after the defaults are applied. Durations as written: `30s`, `5m`. */
export interface RetrySpec {
  /** Extra tries after the first. */
  retries: number;
  retryDelay: string;
  backoffCoefficient: number;
  maxRetryDelay: string;
}

/** Where a mapped step's values come from: a literal list, or an upstream step's XCom (a list, or a dict mapped as entries). */
export type MapSource = Json[] | XComRef;

/**
 * The median stopping rule: a running trial whose best value of `metric` so far
 * is worse than the median of the other trials' running averages at the same
 * step is stopped (marked `pruned`).
 */
export interface EarlyStoppingSpec {
  /** The metric key trials report (`trainyard.metric {"step": 3, "val_accuracy": 0.91}`). */
  metric: string;
  /** Whether higher (`max`) or lower (`min`) is better. */
  mode: 'max' | 'min';
  /** A trial is judged only once it has reported at least this many steps. @default 3 */
  minSteps?: number;
  /** A trial is judged only once it has run this long (duration). @default '0s' */
  gracePeriod?: string;
  /** How many other trials must have reported the step before the median counts. @default 3 */
  minTrials?: number;
}

/**
 * Runs a step once per value (Airflow's `partial` + `expand`): the step's config is
 * the fixed part; each index sees its values as `{{ map.KEY }}` and `{{ map_index }}`.
 */
export interface MapSpec {
  /**
   * Keyed sources, crossed (`product`) or paired (`zip`); or one source whose items are
   * the values (an object item's keys become `map.KEY`, any other item is `map.item`,
   * and a dict source's entries are `{ key, value }`).
   */
  expand: Record<string, MapSource> | MapSource;
  /** How keyed sources combine. @default 'product' */
  mode?: 'product' | 'zip';
  /** At most this many indices run at once. @default 256 (and never more than 2,000) */
  maxActive?: number;
  /** More indices than this is an error before anything starts. @default 1024 */
  maxMapLength?: number;
  /** The step succeeds when at least this share of the judged indices (all but pruned) succeed. @default 1 */
  minSuccessRatio?: number;
  earlyStopping?: EarlyStoppingSpec;
}

/** What every step has, whatever its kind. */
export interface StepBase {
  /** Full id, group prefix included (`data_preparation.validate_data`). */
  id: string;
  upstream: string[];
  group?: string;
  triggerRule: TriggerRule;
  retry: RetrySpec;
  /** Execution timeout of one try (`4h`). */
  timeout: string;
  /** How long a try may go without a heartbeat before it counts as lost (`10s`). */
  heartbeatTimeout: string;
  /** Present on a mapped step: one trial per value. */
  map?: MapSpec;
}

/** One step of a kind: `kind` tells which config it has. */
export type StepOf<K extends StepKind> = StepBase & { kind: K; config: StepConfigByKind[K] };

/** A step of the spec: a union discriminated on `kind`. */
export type StepSpec = { [K in StepKind]: StepOf<K> }[StepKind];

/** A step as written by hand, before compiling: its config may leave out what has a default. */
export type StepDraft = { [K in StepKind]: StepBase & { kind: K; config: StepOptionsByKind[K] } }[StepKind];

export interface ParamSpec {
  default: Json;
  description?: string;
}

export interface PipelineSpec {
  id: string;
  description?: string;
  /** How this pipeline's container steps run unless a run asks otherwise. @default the deployment's TRAINYARD_DEFAULT_RUNNER, else 'local' */
  runner?: Runner;
  /** Tracks every run to MLflow: a parent run per run, a nested run per process or pod try. */
  mlflow?: MlflowTracking;
  /** Cron expression or `@hourly` / `@daily` / `@weekly` / `@monthly`. */
  schedule?: string;
  /** IANA time zone the schedule's cron is read in, like 'Europe/Berlin'. @default 'UTC' */
  timezone?: string;
  /** ISO date or time before which the schedule takes no action. */
  startDate?: string;
  /** ISO date or time after which the schedule takes no action; after startDate. */
  endDate?: string;
  /** Delays each scheduled run by a random amount up to this duration, like '5m'. @default no jitter */
  jitter?: string;
  /**
   * Runs missed while Temporal was down: false takes none (10s, the least Temporal allows), true takes
   * all of them (100 years), a duration takes those that late at most. @default '1m'
   */
  catchup?: boolean | string;
  maxActiveRuns?: number;
  tags?: string[];
  params: Record<string, ParamSpec>;
  steps: StepSpec[];
}

/** The `mlflow` pipeline option. */
export interface MlflowTracking {
  /** The MLflow experiment of the pipeline's runs, templates allowed (`daily-training-{{ ds }}`); created when missing. */
  experiment: string;
}

/** A spec as written by hand (any client may send one): compiling it checks it and fills its defaults. */
export interface PipelineDraft extends Omit<PipelineSpec, 'steps'> {
  steps: StepDraft[];
}

/** User-facing defaults, like Airflow's `default_args`; durations as `5m`, `4h`, ... */
export interface StepDefaults {
  retries?: number;
  retryDelay?: string;
  retryBackoff?: number;
  maxRetryDelay?: string;
  timeout?: string;
  heartbeatTimeout?: string;
  triggerRule?: TriggerRule;
}
