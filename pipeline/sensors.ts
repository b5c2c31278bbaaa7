/**
 * Sensors, the pure part: defaults, poke intervals, glob keys, how an S3 event's
 * key maps back to a run's logical date, and the verdict on another run's state.
 * The waiting itself is in workflows/sensor.ts; the checks in activities/sensors.ts.
 *
 *   const timing = sensorTiming(config);           // every default applied, durations in ms
 *   nextPokeDelay(timing, 3);                      // the wait after the 3rd empty check
 *   globToRegExp('daily/*.parquet').test(key);
 */
import { parseDuration } from './duration';
import type { PipelineSensorConfig, WatchedState } from './kinds/pipeline-sensor';
import type { S3KeySensorConfig } from './kinds/s3-key-sensor';
import type { StepState } from './types';

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

/** A sensor's timing as written in a compiled spec: every default filled in. */
export type CompiledSensorTiming = Required<SensorTiming>;

/** A sensor's timing with every default applied. */
export interface CompiledTiming {
  mode: 'poke' | 'reschedule';
  pokeIntervalMs: number;
  timeoutMs: number;
  softFail: boolean;
  exponentialBackoff: boolean;
  maxPokeIntervalMs: number;
}

export const SENSOR_DEFAULTS = {
  mode: 'reschedule',
  pokeInterval: '60s',
  timeout: '7d',
  softFail: false,
  exponentialBackoff: false,
  maxPokeInterval: '1h',
} as const satisfies CompiledSensorTiming;

/** Fills the timing's defaults: what a sensor kind's compile step writes into the spec. */
export function compileTiming(config: SensorTiming): CompiledSensorTiming {
  return {
    mode: config.mode ?? SENSOR_DEFAULTS.mode,
    pokeInterval: config.pokeInterval ?? SENSOR_DEFAULTS.pokeInterval,
    timeout: config.timeout ?? SENSOR_DEFAULTS.timeout,
    softFail: config.softFail ?? SENSOR_DEFAULTS.softFail,
    exponentialBackoff: config.exponentialBackoff ?? SENSOR_DEFAULTS.exponentialBackoff,
    maxPokeInterval: config.maxPokeInterval ?? SENSOR_DEFAULTS.maxPokeInterval,
  };
}

/** The timing in milliseconds; durations must already be valid (compiling checks them). */
export function sensorTiming(config: SensorTiming): CompiledTiming {
  const t = compileTiming(config);
  const ms = (value: string): number => parseDuration(value) ?? 0;
  return {
    mode: t.mode,
    pokeIntervalMs: ms(t.pokeInterval),
    timeoutMs: ms(t.timeout),
    softFail: t.softFail,
    exponentialBackoff: t.exponentialBackoff,
    maxPokeIntervalMs: ms(t.maxPokeInterval),
  };
}

/** How long to wait after `emptyChecks` checks found nothing (1 after the first). */
export function nextPokeDelay(timing: CompiledTiming, emptyChecks: number): number {
  if (!timing.exponentialBackoff) return timing.pokeIntervalMs;
  const factor = 2 ** Math.min(Math.max(emptyChecks - 1, 0), 30);
  return Math.min(timing.pokeIntervalMs * factor, Math.max(timing.maxPokeIntervalMs, timing.pokeIntervalMs));
}

/**
 * Most checks one reschedule-mode sensor try makes on its own schedule. Every check adds
 * about a dozen events to the run's history, which Temporal caps (51,200 events by
 * default); 1,000 checks keep a sensor well inside that with room for the run's other steps.
 */
export const MAX_RESCHEDULE_CHECKS = 1000;

/**
 * The wait after `emptyChecks` empty checks in reschedule mode: the poke delay, stretched
 * when needed so the whole timeout takes at most MAX_RESCHEDULE_CHECKS checks (a 7-day
 * timeout is then checked about every 10 minutes, not every minute).
 */
export function rescheduleDelay(timing: CompiledTiming, emptyChecks: number): number {
  return Math.max(nextPokeDelay(timing, emptyChecks), Math.ceil(timing.timeoutMs / MAX_RESCHEDULE_CHECKS));
}

const GLOB_CHARS = /[*?[]/;

/** The literal start of a glob: what an S3 listing can use as its prefix. */
export function globPrefix(glob: string): string {
  const at = glob.search(GLOB_CHARS);
  return at < 0 ? glob : glob.slice(0, at);
}

export function isGlob(text: string): boolean {
  return GLOB_CHARS.test(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** A shell-style glob as a regex source: `*` any run of characters (`/` included), `?` one, `[...]` a class. */
function globSource(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) out += '\\[';
      else {
        const body = glob.slice(i + 1, end);
        out += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`.replace(/\\/g, '\\\\');
        i = end;
      }
    } else out += escapeRegExp(c);
  }
  return out;
}

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${globSource(glob)}$`);
}

/** The date templates a key may carry, and the text each renders to. */
const DATE_TEMPLATES: Record<string, { pattern: string; toDate: (text: string) => string }> = {
  ds: { pattern: '\\d{4}-\\d{2}-\\d{2}', toDate: (t) => t },
  ds_nodash: { pattern: '\\d{8}', toDate: (t) => `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}` },
};

/**
 * Matches an object key against a sensor's key template, for S3 events: the date
 * the key carries (`{{ ds }}` or `{{ ds_nodash }}`) is the run's logical date. Other
 * templates match one path segment. Returns undefined when the key does not match,
 * else the date (`2026-03-01`) or null when the template has no date in it.
 */
export function matchKeyTemplate(template: string, key: string, wildcard: boolean): string | null | undefined {
  let source = '';
  let dateGroup = false;
  let last = 0;
  const literal = (text: string): string => (wildcard ? globSource(text) : escapeRegExp(text));
  for (const m of template.matchAll(/\{\{\s*([^}|\s]+)[^}]*\}\}/g)) {
    source += literal(template.slice(last, m.index));
    const date = DATE_TEMPLATES[m[1] as string];
    if (date && !dateGroup) {
      source += `(?<date>${date.pattern})`;
      dateGroup = true;
    } else source += date ? date.pattern : '[^/]*';
    last = (m.index ?? 0) + m[0].length;
  }
  source += literal(template.slice(last));
  const found = new RegExp(`^${source}$`).exec(key);
  if (!found) return undefined;
  const text = found.groups?.date;
  if (text === undefined) return null;
  const name = /\{\{\s*(ds_nodash|ds)\b/.exec(template)?.[1] as string;
  return (DATE_TEMPLATES[name] as { toDate: (t: string) => string }).toDate(text);
}

/** What a pipeline sensor makes of the state it saw. */
export type WatchVerdict = 'allowed' | 'failed' | 'wait';

export function watchedStates(config: PipelineSensorConfig): { allowed: WatchedState[]; failed: WatchedState[] } {
  const allowed = config.allowedStates ?? ['success'];
  const failed = config.failedStates ?? (config.stepId !== undefined ? ['failed', 'upstream_failed'] : ['failed', 'cancelled']);
  return { allowed, failed };
}

export function judgeWatchedState(config: PipelineSensorConfig, state: WatchedState): WatchVerdict {
  const { allowed, failed } = watchedStates(config);
  if (allowed.includes(state)) return 'allowed';
  if (failed.includes(state)) return 'failed';
  return 'wait';
}

const WATCHED_STATES: readonly WatchedState[] = [
  'queued',
  'running',
  'up_for_retry',
  'success',
  'failed',
  'skipped',
  'upstream_failed',
  'cancelled',
  'absent',
] satisfies (StepState | WatchedState)[];

function timingProblems(config: SensorTiming, where: string): string[] {
  const problems: string[] = [];
  if (config.mode !== undefined && config.mode !== 'poke' && config.mode !== 'reschedule') {
    problems.push(`${where}: mode '${String(config.mode)}' must be 'poke' or 'reschedule'`);
  }
  for (const field of ['pokeInterval', 'timeout', 'maxPokeInterval'] as const) {
    const value = config[field];
    if (value === undefined) continue;
    const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
    if (parsed === undefined || parsed <= 0) problems.push(`${where}: ${field} '${String(value)}' is not a positive duration; write it like '30s', '5m' or '6h'`);
  }
  for (const field of ['softFail', 'exponentialBackoff'] as const) {
    if (config[field] !== undefined && typeof config[field] !== 'boolean') problems.push(`${where}: ${field} must be true or false`);
  }
  return problems;
}

/** The problems of an s3Key sensor's config (before rendering: templates are checked elsewhere). */
export function s3KeySensorProblems(config: S3KeySensorConfig, where: string): string[] {
  const problems = timingProblems(config, where);
  const templated = typeof config.bucket === 'string' && config.bucket.includes('{{');
  if (typeof config.bucket !== 'string' || (!templated && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(config.bucket))) {
    problems.push(`${where}: bucket '${String(config.bucket)}' must be an S3 bucket name (lower-case letters, digits, '.', '-'), e.g. 'ml-datasets'`);
  }
  const keys = Array.isArray(config.key) ? config.key : [config.key];
  if (keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === '')) {
    problems.push(`${where}: key must be an object key or a list of them, e.g. 'daily/{{ ds }}/features.parquet'`);
  } else if (!config.wildcard) {
    for (const k of keys) {
      if (/^s3:\/\//.test(k)) problems.push(`${where}: key '${k}' is a URL; give the bucket in bucket and the key without 's3://${config.bucket}/'`);
    }
  }
  if (config.minSize !== undefined && !(Number.isInteger(config.minSize) && config.minSize >= 0)) {
    problems.push(`${where}: minSize must be a whole number of bytes ≥ 0`);
  }
  for (const field of ['wildcard', 'startRunOnEvent'] as const) {
    if (config[field] !== undefined && typeof config[field] !== 'boolean') problems.push(`${where}: ${field} must be true or false`);
  }
  return problems;
}

/** The problems of a pipeline sensor's config. */
export function pipelineSensorProblems(config: PipelineSensorConfig, where: string): string[] {
  const problems = timingProblems(config, where);
  if (typeof config.pipelineId !== 'string' || config.pipelineId === '') problems.push(`${where}: pipelineId must name the pipeline to wait for`);
  if (config.stepId !== undefined && (typeof config.stepId !== 'string' || config.stepId === '')) {
    problems.push(`${where}: stepId must be a step id of '${String(config.pipelineId)}', or left out to wait for the whole run`);
  }
  for (const field of ['allowedStates', 'failedStates'] as const) {
    const states = config[field];
    if (states === undefined) continue;
    if (!Array.isArray(states) || states.length === 0) problems.push(`${where}: ${field} must be a non-empty list of states`);
    else {
      for (const s of states) {
        if (!WATCHED_STATES.includes(s)) problems.push(`${where}: ${field} has unknown state '${String(s)}'; states: ${WATCHED_STATES.join(', ')}`);
      }
    }
  }
  const { allowed, failed } = watchedStates(config);
  const both = allowed.filter((s) => failed.includes(s));
  if (both.length > 0) problems.push(`${where}: ${both.join(', ')} cannot be both allowed and failed`);
  if (config.executionDelta !== undefined && (typeof config.executionDelta !== 'string' || parseDuration(config.executionDelta) === undefined)) {
    problems.push(`${where}: executionDelta '${String(config.executionDelta)}' is not a duration; write it like '1d' or '6h'`);
  }
  return problems;
}
