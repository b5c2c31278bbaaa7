/**
 * The pipeline builder: TypeScript in, validated spec out.
 *
 *   export default pipeline({ id: 'etl', defaults: { retries: 2, retryDelay: '5m' } }, (p) => {
 *     const extract = p.process('extract', { command: ['python', 'extract.py', '--date', '{{ ds }}'] });
 *     const stats = p.task('stats', summarise, { rows: extract.get('rows') }); // depends on extract
 *     p.notify('tell', { webhookEnv: 'SLACK_WEBHOOK_URL', text: 'rows: {{ xcom.extract.rows }}' }, { after: [stats] });
 *   });
 */
import { specVersion } from './hash';
import type { TaskDefinition } from './task';
import { type MapRef, isXComRef } from './template';
import type {
  BranchConfig,
  Json,
  MapSpec,
  NotifyConfig,
  PipelineSensorConfig,
  PipelineSpec,
  PodConfig,
  ProcessConfig,
  S3KeySensorConfig,
  StepConfigByKind,
  StepDefaults,
  StepKind,
  StepSpec,
  XComRef,
} from './types';
import { validatePipeline } from './validate';

/** An s3Key sensor's XCom. */
export interface S3KeyMatches {
  bucket: string;
  matches: { key: string; size: number; etag: string; lastModified: string }[];
}

/** A pipeline sensor's XCom: the run it saw and the state it accepted. */
export interface WatchedRun {
  pipelineId: string;
  runId: string;
  logicalDate: string;
  stepId?: string;
  state: string;
}

/** A typed reference to a step's XCom; `T` is what the step returns. */
export type Output<T> = XComRef & { readonly __output?: T };

/** A typed reference to a mapped index's value (see `mapValue`). */
export type MapValue<T> = MapRef & { readonly __map?: T };

/** A value, a reference to an upstream output or a map value of the same type, or a template string. */
export type Arg<T> = T | Output<T> | MapValue<T> | (T extends string ? string : never);

/**
 * In a mapped step's config: this index's value of `key`, with its type kept
 * (a template `'{{ map.lr }}'` renders to text). `mapValue()` is the whole item.
 */
export function mapValue<T = Json>(key = ''): MapValue<T> {
  return { $map: key };
}
export type Args<A> = A extends object ? { [K in keyof A]: Arg<A[K]> } : Arg<A>;

/** A step in the pipeline being built. */
export interface StepHandle<T = Json> {
  readonly id: string;
  /** The step's whole XCom (Airflow's `return_value`). */
  readonly output: Output<T>;
  /** One key of an object XCom (Airflow's `multiple_outputs`). */
  get<K extends keyof T & string>(key: K): Output<T[K]>;
}

export interface StepOptions extends StepDefaults {
  /** Steps that must settle first (handles or full ids). References to outputs add theirs on their own. */
  after?: readonly (StepHandle<unknown> | string)[];
  /**
   * Runs the step once per value (Airflow's `expand`), each index a child workflow; the
   * step's output is then the list of the successful indices' outputs, in index order.
   *
   *   { map: { expand: { lr: [0.1, 0.01], optimizer: ['adam', 'sgd'] }, maxActive: 4 } }  // 4 indices
   *   { map: { expand: generate.output } }                                                // one per item
   */
  map?: MapSpec;
}

export interface PipelineOptions {
  id: string;
  description?: string;
  schedule?: string;
  maxActiveRuns?: number;
  tags?: string[];
  /** Run parameters and their defaults; a run may override them with values of the same type. */
  params?: Record<string, Json>;
  /** Like Airflow's `default_args`: every step starts from these. */
  defaults?: StepDefaults;
}

/** A built pipeline: the spec every run carries, its version, and the task functions it uses. */
export interface Pipeline {
  readonly spec: PipelineSpec;
  readonly version: string;
  readonly tasks: ReadonlyMap<string, TaskDefinition<never, unknown>>;
}

const BUILTIN_DEFAULTS: Required<StepDefaults> = {
  retries: 0,
  retryDelay: '5m',
  retryBackoff: 1,
  maxRetryDelay: '1h',
  timeout: '24h',
  heartbeatTimeout: '10s',
  triggerRule: 'all_success',
};

function collectRefs(value: unknown, into: Set<string>): Set<string> {
  if (isXComRef(value)) into.add(value.$xcom);
  else if (Array.isArray(value)) value.forEach((v) => collectRefs(v, into));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => collectRefs(v, into));
  return into;
}

function handle<T>(id: string): StepHandle<T> {
  return {
    id,
    output: { $xcom: id },
    get: <K extends keyof T & string>(key: K) => ({ $xcom: id, key }),
  };
}

/** Adds steps; a group's builder prefixes ids with the group's path. */
export class PipelineBuilder {
  constructor(
    private readonly steps: StepSpec[],
    private readonly tasks: Map<string, TaskDefinition<never, unknown>>,
    private readonly defaults: Required<StepDefaults>,
    private readonly prefix = '',
  ) {}

  private add<K extends StepKind, T>(kind: K, name: string, config: StepConfigByKind[K], opts: StepOptions = {}): StepHandle<T> {
    const id = this.prefix ? `${this.prefix}.${name}` : name;
    const upstream = new Set<string>((opts.after ?? []).map((a) => (typeof a === 'string' ? a : a.id)));
    for (const ref of collectRefs(config, new Set())) upstream.add(ref);
    if (opts.map) for (const ref of collectRefs(opts.map.expand, new Set())) upstream.add(ref);
    const d = { ...this.defaults, ...definedOnly(opts) };
    const step: StepSpec<K> = {
      id,
      kind,
      upstream: [...upstream],
      triggerRule: d.triggerRule,
      retry: { retries: d.retries, retryDelay: d.retryDelay, backoffCoefficient: d.retryBackoff, maxRetryDelay: d.maxRetryDelay },
      timeout: d.timeout,
      heartbeatTimeout: d.heartbeatTimeout,
      config,
    };
    if (this.prefix) step.group = this.prefix;
    if (opts.map) step.map = opts.map;
    this.steps.push(step);
    return handle<T>(id);
  }

  /** A command run as a local subprocess; its XCom is the JSON it writes to `$TRAINYARD_XCOM_PATH`. */
  process<T = Json>(id: string, config: ProcessConfig, opts?: StepOptions): StepHandle<T> {
    return this.add('process', id, config, opts);
  }

  /** A container step: a pod on Kubernetes, or `cmds + arguments` as a process on the local runner. */
  pod<T = Json>(id: string, config: PodConfig, opts?: StepOptions): StepHandle<T> {
    return this.add('pod', id, config, opts);
  }

  /** Calls a TypeScript task function with rendered arguments; its return value is the XCom. */
  task<A, R>(id: string, fn: TaskDefinition<A, R>, args: Args<A>, opts?: StepOptions): StepHandle<Awaited<R>> {
    this.tasks.set(fn.name, fn);
    return this.add('task', id, { fn: fn.name, args }, opts);
  }

  /** Chooses which direct followers run, by conditions on XCom or by a task function returning step ids. */
  branch(id: string, config: BranchConfig | { fn: TaskDefinition<never, string | string[]>; args?: unknown }, opts?: StepOptions): StepHandle<string[]> {
    if (typeof config.fn === 'object') {
      this.tasks.set(config.fn.name, config.fn);
      return this.add('branch', id, { fn: config.fn.name, args: config.args }, opts);
    }
    return this.add('branch', id, config as BranchConfig, opts);
  }

  /** POSTs a JSON message (Slack-compatible `text`) to a webhook. */
  notify(id: string, config: NotifyConfig, opts?: StepOptions): StepHandle<{ status: number }> {
    return this.add('notify', id, config, opts);
  }

  /**
   * Waits until objects exist in S3 (Airflow's S3KeySensor); its XCom is the matched keys
   * with size and ETag. `mode: 'reschedule'` (the default) holds no worker slot while it waits.
   */
  s3KeySensor(id: string, config: S3KeySensorConfig, opts?: StepOptions): StepHandle<S3KeyMatches> {
    return this.add('sensor.s3Key', id, config, opts);
  }

  /** Waits until another pipeline's run for the same logical date (or shifted) reaches an allowed state (ExternalTaskSensor). */
  pipelineSensor(id: string, config: PipelineSensorConfig, opts?: StepOptions): StepHandle<WatchedRun> {
    return this.add('sensor.pipeline', id, config, opts);
  }

  /** A group of steps: ids get the group's name as a prefix (`data_preparation.validate_data`). */
  group<R>(name: string, define: (g: PipelineBuilder) => R): R {
    return define(new PipelineBuilder(this.steps, this.tasks, this.defaults, this.prefix ? `${this.prefix}.${name}` : name));
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds and validates a pipeline. Throws a PipelineValidationError listing every problem. */
export function pipeline(options: PipelineOptions, define: (p: PipelineBuilder) => void): Pipeline {
  const steps: StepSpec[] = [];
  const tasks = new Map<string, TaskDefinition<never, unknown>>();
  define(new PipelineBuilder(steps, tasks, { ...BUILTIN_DEFAULTS, ...definedOnly(options.defaults ?? {}) }));
  const spec: PipelineSpec = {
    id: options.id,
    params: Object.fromEntries(Object.entries(options.params ?? {}).map(([name, value]) => [name, { default: value }])),
    steps,
  };
  if (options.description !== undefined) spec.description = options.description;
  if (options.schedule !== undefined) spec.schedule = options.schedule;
  if (options.maxActiveRuns !== undefined) spec.maxActiveRuns = options.maxActiveRuns;
  if (options.tags !== undefined) spec.tags = options.tags;
  validatePipeline(spec, { taskNames: [...tasks.keys()] });
  return { spec, version: specVersion(spec), tasks };
}
