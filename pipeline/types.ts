/**
 * The pipeline spec: plain JSON that every run carries in its input.
 *
 * Everything here must survive `JSON.stringify` unchanged, because the spec is
 * the workflow's input and Temporal's history is its record.
 */

/** The kinds of step this version of Trainyard can run. */
export const STEP_KINDS = ['process', 'pod', 'task', 'branch', 'notify', 'sensor.s3Key', 'sensor.pipeline'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

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

/** A command run as a local subprocess. */
export interface ProcessConfig {
  command: string[];
  cwd?: string;
  env?: Record<string, string>;
}

/** An environment variable of a container; `valueFrom` keeps secrets out of history. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

/** What happens to a pod when its step ends (KubernetesPodOperator's `on_finish_action`). */
export type OnFinishAction = 'delete_pod' | 'delete_succeeded_pod' | 'keep_pod';

/**
 * A container step. The Kubernetes runner turns it into a pod; the local runner
 * runs `cmds + arguments` as a process in the image's local directory.
 *
 * Kubernetes objects (resources, tolerations, affinity, volumes, security
 * contexts, envFrom) are written as in a pod manifest (camelCase V1 objects);
 * the API server validates them.
 */
export interface PodConfig {
  image: string;
  /** The container's command (entrypoint). */
  cmds?: string[];
  /** The container's args. */
  arguments?: string[];
  env?: EnvVar[];
  /** Whole Secrets or ConfigMaps as env: `[{ secretRef: { name } }, { configMapRef: { name }, prefix }]`. */
  envFrom?: Record<string, unknown>[];
  /** Requests and limits, e.g. `{ limits: { 'nvidia.com/gpu': '1' } }`. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  tolerations?: Record<string, unknown>[];
  nodeSelector?: Record<string, string>;
  affinity?: Record<string, unknown>;
  volumes?: Record<string, unknown>[];
  volumeMounts?: Record<string, unknown>[];
  /** Names of image pull Secrets. */
  imagePullSecrets?: string[];
  serviceAccountName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** @default the worker's TRAINYARD_K8S_NAMESPACE, else 'default' */
  namespace?: string;
  priorityClassName?: string;
  /** The container's security context. */
  securityContext?: Record<string, unknown>;
  /** The pod's security context. */
  podSecurityContext?: Record<string, unknown>;
  /** How long the pod may stay unscheduled before the try fails. @default '5m' */
  scheduleTimeout?: string;
  /** How long a scheduled pod may take to start its container. @default '5m' */
  startupTimeout?: string;
  /** Follow the container's log into the worker log. @default true */
  getLogs?: boolean;
  /** @default 'delete_pod' */
  onFinishAction?: OnFinishAction;
  /** Read the XCom from the container's termination message. @default true */
  xcom?: boolean;
  /** A partial V1Pod merged over the generated one, for anything not modelled here. */
  podTemplate?: Record<string, unknown>;
}

/** A TypeScript function registered with the worker: the TaskFlow analogue. */
export interface TaskConfig {
  fn: string;
  /** Arguments: may contain templates and XCom references. */
  args?: unknown;
}

/** One arm of a declarative branch. */
export interface BranchCase {
  /** A condition such as `xcom.evaluate_model.accuracy >= params.threshold`. */
  if: string;
  then: string | string[];
}

/** A branch picks which direct followers run; the others are skipped. */
export interface BranchConfig {
  cases?: BranchCase[];
  otherwise?: string | string[];
  /** Instead of cases: a registered task function returning the follower ids to run. */
  fn?: string;
  args?: unknown;
}

/** An HTTP POST of a JSON message (Slack-compatible) to a webhook. */
export interface NotifyConfig {
  /** Name of the worker's environment variable holding the webhook URL (keeps it out of history). */
  webhookEnv?: string;
  /** A webhook URL that is not secret. */
  url?: string;
  text: string;
  /** Extra JSON fields sent with `text`. */
  fields?: Record<string, unknown>;
}

/**
 * How a sensor waits (Airflow's `mode`, `poke_interval`, `timeout`, `soft_fail`,
 * `exponential_backoff`). Durations as written: `30s`, `5m`, `6h`.
 */
export interface SensorTiming {
  /**
   * `reschedule`: a short check, then a durable workflow timer until the next one, holding
   * no worker slot while it waits. `poke`: one long heartbeating activity that checks every
   * interval and resumes on another worker if its worker dies. @default 'reschedule'
   */
  mode?: 'poke' | 'reschedule';
  /** Time between checks. @default '60s' */
  pokeInterval?: string;
  /** The sensor fails (or, with softFail, is skipped) when nothing matched this long after it started. @default '7d' */
  timeout?: string;
  /** On timeout the step is skipped instead of failed, so its followers skip too. @default false */
  softFail?: boolean;
  /** Doubles the interval after each check that found nothing, up to maxPokeInterval. @default false */
  exponentialBackoff?: boolean;
  /** Longest interval with exponentialBackoff. @default '1h' */
  maxPokeInterval?: string;
}

/**
 * Waits for objects in S3 (Airflow's S3KeySensor). `key` is templated
 * (`daily/{{ ds }}/features.parquet`); with `wildcard`, `*`, `?` and `[...]` match as in
 * shell globs (`*` also crosses `/`). Its XCom is `{ bucket, matches: [{ key, size, etag, lastModified }] }`.
 */
export interface S3KeySensorConfig extends SensorTiming {
  bucket: string;
  /** One key, or several that must all be there. */
  key: string | string[];
  /** Treat the key as a glob. @default false */
  wildcard?: boolean;
  /** Only objects of at least this many bytes count. @default 0 (any, even empty) */
  minSize?: number;
  /**
   * An S3 event for a key this sensor matches (POST /events/s3) starts a run of the pipeline
   * for the date in the key when no run for that date is waiting. @default false
   */
  startRunOnEvent?: boolean;
}

/** A run's or a step's state as another pipeline's sensor sees it. */
export type WatchedState = StepState | 'cancelled' | 'running' | 'absent';

/**
 * Waits for another pipeline's run (Airflow's ExternalTaskSensor): the run whose
 * logical date is this run's minus `executionDelta`, its step `stepId` (or the whole
 * run), in one of `allowedStates`; one of `failedStates` fails the sensor at once.
 */
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

export interface StepConfigByKind {
  process: ProcessConfig;
  pod: PodConfig;
  task: TaskConfig;
  branch: BranchConfig;
  notify: NotifyConfig;
  'sensor.s3Key': S3KeySensorConfig;
  'sensor.pipeline': PipelineSensorConfig;
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

export interface StepSpec<K extends StepKind = StepKind> {
  /** Full id, group prefix included (`data_preparation.validate_data`). */
  id: string;
  kind: K;
  upstream: string[];
  group?: string;
  triggerRule: TriggerRule;
  retry: RetrySpec;
  /** Execution timeout of one try (`4h`). */
  timeout: string;
  /** How long a try may go without a heartbeat before it counts as lost (`10s`). */
  heartbeatTimeout: string;
  config: StepConfigByKind[K];
  /** Present on a mapped step: one trial per value. */
  map?: MapSpec;
}

export interface ParamSpec {
  default: Json;
  description?: string;
}

export interface PipelineSpec {
  id: string;
  description?: string;
  /** Cron expression or `@hourly` / `@daily` / `@weekly` / `@monthly`. */
  schedule?: string;
  maxActiveRuns?: number;
  tags?: string[];
  params: Record<string, ParamSpec>;
  steps: StepSpec[];
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
