/**
 * The pipeline builder: TypeScript in, compiled spec out.
 *
 *   export default pipeline({ id: 'etl', defaults: { retries: 2, retryDelay: '5m' } }, (p) => {
 *     const extract = p.process('extract', { command: ['python', 'extract.py', '--date', '{{ ds }}'] });
 *     const stats = p.task('stats', summarise, { rows: extract.get('rows') });      // depends on extract
 *     p.pod('report', { image: 'tools:1', cmds: ['report', '--rows', extract.ref('rows')] }); // so does this
 *     p.notify('tell', { webhookEnv: 'SLACK_WEBHOOK_URL', text: 'rows: {{ xcom.extract.rows }}' }, { after: [stats] });
 *   });
 *
 * The builder's methods come from the table of step kinds (pipeline/kinds).
 */
import { specVersion } from './hash';
import { type KindMethods, type StepKind, kindMethods } from './kinds';
import type { Runner } from './run-ref';
import type { TaskDefinition } from './task';
import { type MapRef, isXComRef } from './template';
import type { Json, MapSpec, MlflowTracking, PipelineDraft, PipelineSpec, StepDefaults, StepDraft, XComRef } from './types';
import { validatePipeline } from './validate';

/** A typed reference to a step's XCom; `T` is what the step returns. */
export type Output<T> = XComRef & { readonly __output?: T };

/**
 * A step's XCom (or one key of it) as a string, for a container step's `arguments`,
 * `env` values and `cmds`: it renders to the value's text when the step runs, and
 * using it makes the step depend on the one it refers to.
 */
export type Ref<T> = string & { readonly __ref?: T };

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

/**
 * The keys of a step's XCom that `get` and `ref` accept: a typed XCom's own keys,
 * checked at compile time; any key when the step declares no type (`Json`).
 */
export type XComKey<T> = [T] extends [Json] ? (Json extends T ? string : keyof T & string) : keyof T & string;
type At<T, K> = K extends keyof T ? T[K] : Json;

/** A step in the pipeline being built. */
export interface StepHandle<T = Json> {
  readonly id: string;
  /** The step's whole XCom (Airflow's `return_value`). */
  readonly output: Output<T>;
  /** One key of an object XCom (Airflow's `multiple_outputs`). */
  get<K extends XComKey<T>>(key: K): Output<At<T, K>>;
  /** The whole XCom, or one key of it, as text for container arguments, env values and cmds. */
  ref(): Ref<T>;
  ref<K extends XComKey<T>>(key: K): Ref<At<T, K>>;
}

/** A group in the pipeline being built: `after: [group]` waits for every leaf of the group. */
export interface GroupHandle<R = unknown> {
  /** The group's full name (`model_training`). */
  readonly group: string;
  /** What the group's definition returned. */
  readonly result: R;
}

/** What `after` may list: steps, groups, or ids (a group's full name stands for its leaves). */
export type Upstream = Pick<StepHandle, 'id'> | GroupHandle | string;

export interface StepOptions extends StepDefaults {
  /** Steps that must settle first. References to outputs add theirs on their own. */
  after?: readonly Upstream[];
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
  /** IANA time zone of the schedule, like 'Europe/Berlin'. @default 'UTC' */
  timezone?: string;
  /** ISO date before which the schedule takes no action. */
  startDate?: string;
  /** ISO date after which the schedule takes no action. */
  endDate?: string;
  /** Random delay of each scheduled run, at most this duration. @default none */
  jitter?: string;
  /** Missed runs to take after an outage: false none, true all, or a window like '1h'. @default '1m' */
  catchup?: boolean | string;
  maxActiveRuns?: number;
  tags?: string[];
  /** How container steps run unless a run asks otherwise. @default the deployment's default, else 'local' */
  runner?: Runner;
  /** Track every run to MLflow: `{ experiment: 'daily-training-{{ ds }}' }` (the worker names the server). */
  mlflow?: MlflowTracking;
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

/** Adds steps (one method per step kind) and groups; a group's builder prefixes ids with the group's path. */
export type PipelineBuilder = KindMethods & {
  /** A group of steps: ids get the group's name as a prefix (`data_preparation.validate_data`). */
  group<R>(name: string, define: (g: PipelineBuilder) => R): GroupHandle<R>;
};

const BUILTIN_DEFAULTS: Required<StepDefaults> = {
  retries: 0,
  retryDelay: '5m',
  retryBackoff: 1,
  maxRetryDelay: '1h',
  timeout: '24h',
  heartbeatTimeout: '10s',
  triggerRule: 'all_success',
};

/** What every builder of one pipeline shares. */
interface BuildState {
  steps: StepDraft[];
  tasks: Map<string, TaskDefinition<never, unknown>>;
  defaults: Required<StepDefaults>;
  /** Text of every `ref()` handed out -> the step it refers to. */
  refs: Map<string, string>;
}

/** Steps an XCom reference or a `ref()` string inside `value` reads. */
function collectRefs(value: unknown, refs: ReadonlyMap<string, string>, into: Set<string>): Set<string> {
  if (typeof value === 'string') {
    if (value.includes('{{')) for (const [text, id] of refs) if (value.includes(text)) into.add(id);
  } else if (isXComRef(value)) into.add(value.$xcom);
  else if (Array.isArray(value)) value.forEach((v) => collectRefs(v, refs, into));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => collectRefs(v, refs, into));
  return into;
}

function handle<T>(id: string, state: BuildState): StepHandle<T> {
  const ref = (key?: string): string => {
    const text = `{{ xcom.${id}${key === undefined ? '' : `.${key}`} }}`;
    state.refs.set(text, id);
    return text;
  };
  return {
    id,
    output: { $xcom: id },
    get: <K extends XComKey<T>>(key: K) => ({ $xcom: id, key }),
    ref,
  };
}

/** The steps of group `name` (nested groups included) that no other step of the group waits for. */
function groupLeaves(name: string, steps: readonly StepDraft[]): string[] {
  const members = steps.filter((s) => s.group === name || s.group?.startsWith(`${name}.`));
  const waitedOn = new Set(members.flatMap((s) => s.upstream));
  return members.filter((s) => !waitedOn.has(s.id)).map((s) => s.id);
}

function upstreamIds(after: Upstream, steps: readonly StepDraft[]): string[] {
  if (typeof after === 'object' && 'group' in after) return groupLeaves(after.group, steps);
  const id = typeof after === 'string' ? after : after.id;
  if (typeof after === 'string' && !steps.some((s) => s.id === id)) {
    const leaves = groupLeaves(id, steps);
    if (leaves.length > 0) return leaves;
  }
  return [id];
}

function builderFor(state: BuildState, prefix: string): PipelineBuilder {
  const adder = {
    add<T>(kind: string, name: string, config: object, opts: StepOptions = {}): StepHandle<T> {
      const id = prefix ? `${prefix}.${name}` : name;
      const upstream = new Set<string>((opts.after ?? []).flatMap((a) => upstreamIds(a, state.steps)));
      collectRefs(config, state.refs, upstream);
      if (opts.map) collectRefs(opts.map.expand, state.refs, upstream);
      const d = { ...state.defaults, ...definedOnly(opts) };
      // The config is as written; compiling the whole spec (validatePipeline) checks it and fills its defaults.
      const step = {
        id,
        kind: kind as StepKind,
        upstream: [...upstream],
        triggerRule: d.triggerRule,
        retry: { retries: d.retries, retryDelay: d.retryDelay, backoffCoefficient: d.retryBackoff, maxRetryDelay: d.maxRetryDelay },
        timeout: d.timeout,
        heartbeatTimeout: d.heartbeatTimeout,
        config,
        ...(prefix ? { group: prefix } : {}),
        ...(opts.map ? { map: opts.map } : {}),
      } as StepDraft;
      state.steps.push(step);
      return handle<T>(id, state);
    },
    useTask(fn: TaskDefinition<never, unknown>): string {
      state.tasks.set(fn.name, fn);
      return fn.name;
    },
  };
  return {
    ...kindMethods(adder),
    group<R>(name: string, define: (g: PipelineBuilder) => R): GroupHandle<R> {
      const full = prefix ? `${prefix}.${name}` : name;
      return { group: full, result: define(builderFor(state, full)) };
    },
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Builds, validates and compiles a pipeline. Throws a PipelineValidationError listing every problem. */
export function pipeline(options: PipelineOptions, define: (p: PipelineBuilder) => void): Pipeline {
  const state: BuildState = {
    steps: [],
    tasks: new Map(),
    defaults: { ...BUILTIN_DEFAULTS, ...definedOnly(options.defaults ?? {}) },
    refs: new Map(),
  };
  define(builderFor(state, ''));
  const draft: PipelineDraft = {
    id: options.id,
    params: Object.fromEntries(Object.entries(options.params ?? {}).map(([name, value]) => [name, { default: value }])),
    steps: state.steps,
  };
  if (options.description !== undefined) draft.description = options.description;
  if (options.schedule !== undefined) draft.schedule = options.schedule;
  for (const key of ['timezone', 'startDate', 'endDate', 'jitter'] as const) {
    const value = options[key];
    if (value !== undefined) draft[key] = value;
  }
  if (options.catchup !== undefined) draft.catchup = options.catchup;
  if (options.maxActiveRuns !== undefined) draft.maxActiveRuns = options.maxActiveRuns;
  if (options.tags !== undefined) draft.tags = options.tags;
  if (options.runner !== undefined) draft.runner = options.runner;
  if (options.mlflow !== undefined) draft.mlflow = options.mlflow;
  const spec = validatePipeline(draft, { taskNames: [...state.tasks.keys()] });
  return { spec, version: specVersion(spec), tasks: state.tasks };
}
