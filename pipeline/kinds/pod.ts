/**
 * `pod`: a container step. The Kubernetes runner turns it into a pod; the local
 * runner runs `cmds + arguments` as a process in the image's local directory.
 *
 *   const train = p.pod('train', { image: 'ml-trainer:latest', cmds: ['python', 'train.py'],
 *     arguments: ['--data', prep.ref('uri')], resources: { limits: { 'nvidia.com/gpu': '1' } } });
 *
 * Kubernetes objects (resources, tolerations, affinity, volumes, security
 * contexts, envFrom) are written as in a pod manifest (camelCase V1 objects);
 * the API server validates them.
 */
import type { StepHandle, StepOptions } from '../builder';
import type { Json } from '../types';
import { type CompileContext, checkBoolean, checkDuration, checkEnum, defineKind, isStringArray, orDefault } from './kind';

/** An environment variable of a container; `valueFrom` keeps secrets out of history. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    secretKeyRef?: { name: string; key: string };
    configMapKeyRef?: { name: string; key: string };
  };
}

export const ON_FINISH_ACTIONS = ['delete_pod', 'delete_succeeded_pod', 'keep_pod'] as const;
/** What happens to a pod when its step ends (KubernetesPodOperator's `on_finish_action`). */
export type OnFinishAction = (typeof ON_FINISH_ACTIONS)[number];

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

/** A pod step's config with every default filled in. */
export type CompiledPodConfig = PodConfig & Required<Pick<PodConfig, 'scheduleTimeout' | 'startupTimeout' | 'getLogs' | 'onFinishAction' | 'xcom'>>;

export const POD_DEFAULTS = {
  scheduleTimeout: '5m',
  startupTimeout: '5m',
  getLogs: true,
  onFinishAction: 'delete_pod',
  xcom: true,
} as const satisfies Partial<PodConfig>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkEnv(ctx: CompileContext, env: unknown): void {
  if (env === undefined) return;
  if (!Array.isArray(env)) {
    ctx.problems.push(`${ctx.where}: env must be a list of { name, value } or { name, valueFrom }`);
    return;
  }
  for (const [i, item] of (env as Record<string, unknown>[]).entries()) {
    if (typeof item?.name !== 'string' || !NAME.test(item.name)) ctx.problems.push(`${ctx.where}: env[${i}].name must be a variable name`);
    else if ((item.value === undefined) === (item.valueFrom === undefined)) ctx.problems.push(`${ctx.where}: env '${item.name}' needs exactly one of value or valueFrom`);
    else if (item.value !== undefined && typeof item.value !== 'string') ctx.problems.push(`${ctx.where}: env '${item.name}' value must be a string`);
  }
}

export const podKind = defineKind({
  method: 'pod',
  build: (adder) =>
    <T = Json>(id: string, config: PodConfig, opts?: StepOptions): StepHandle<T> => adder.add<T>('pod', id, config, opts),
  compile(config: PodConfig, ctx: CompileContext): CompiledPodConfig {
    const { where, problems } = ctx;
    if (typeof config.image !== 'string' || config.image === '') problems.push(`${where}: image is required, e.g. 'ml-trainer:latest'`);
    if (config.cmds !== undefined && !isStringArray(config.cmds)) problems.push(`${where}: cmds must be a list of strings`);
    if (config.arguments !== undefined && !isStringArray(config.arguments)) problems.push(`${where}: arguments must be a list of strings`);
    if ((!isStringArray(config.cmds) || config.cmds.length === 0) && (!isStringArray(config.arguments) || config.arguments.length === 0)) {
      problems.push(`${where}: give cmds (and arguments) to run; the local runner has no image entrypoint`);
    }
    checkEnv(ctx, config.env);
    for (const field of ['envFrom', 'tolerations', 'volumes', 'volumeMounts'] as const) {
      const value = config[field];
      if (value !== undefined && !(Array.isArray(value) && value.every(isPlainObject))) problems.push(`${where}: ${field} must be a list of objects, as in a pod manifest`);
    }
    for (const field of ['affinity', 'securityContext', 'podSecurityContext', 'podTemplate', 'resources'] as const) {
      if (config[field] !== undefined && !isPlainObject(config[field])) problems.push(`${where}: ${field} must be an object, as in a pod manifest`);
    }
    for (const field of ['nodeSelector', 'labels', 'annotations'] as const) {
      const value = config[field];
      if (value !== undefined && !(isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string'))) {
        problems.push(`${where}: ${field} must be an object of string values, e.g. { 'node-pool': 'gpu' }`);
      }
    }
    if (config.imagePullSecrets !== undefined && !isStringArray(config.imagePullSecrets)) problems.push(`${where}: imagePullSecrets must be a list of Secret names`);
    for (const field of ['namespace', 'serviceAccountName', 'priorityClassName'] as const) {
      if (config[field] !== undefined && (typeof config[field] !== 'string' || config[field] === '')) problems.push(`${where}: ${field} must be a non-empty string`);
    }
    checkDuration(ctx, 'scheduleTimeout', config.scheduleTimeout, { positive: true });
    checkDuration(ctx, 'startupTimeout', config.startupTimeout, { positive: true });
    checkEnum(ctx, 'onFinishAction', config.onFinishAction, ON_FINISH_ACTIONS);
    checkBoolean(ctx, 'getLogs', config.getLogs);
    checkBoolean(ctx, 'xcom', config.xcom);
    return {
      ...config,
      scheduleTimeout: orDefault(config.scheduleTimeout, POD_DEFAULTS.scheduleTimeout),
      startupTimeout: orDefault(config.startupTimeout, POD_DEFAULTS.startupTimeout),
      getLogs: orDefault(config.getLogs, POD_DEFAULTS.getLogs),
      onFinishAction: orDefault(config.onFinishAction, POD_DEFAULTS.onFinishAction),
      xcom: orDefault(config.xcom, POD_DEFAULTS.xcom),
    };
  },
});
