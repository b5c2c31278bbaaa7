/**
 * Compiling a spec before anything runs: every problem is collected, each
 * prefixed with the step it belongs to, and reported in one
 * PipelineValidationError; each step's config is checked and its defaults
 * filled in by its kind's compile step (pipeline/kinds). Compiling a compiled
 * spec gives it back unchanged.
 */
import { PipelineValidationError } from './errors';
import { ancestorsOf, findCycle, followersOf } from './graph';
import { parseDuration } from './duration';
import { checkDuration } from './kinds/kind';
import { type CompileContext, STEP_KINDS, STEP_KIND_TABLE, type StepConfigByKind, type StepKind, type StepOptionsByKind, isStepKind } from './kinds';
import { mapProblems } from './mapping';
import { RUNNERS, isRunner } from './run-ref';
import { isXComRef, scanValue } from './template';
import { TRIGGER_RULES, type MlflowTracking, type PipelineDraft, type PipelineSpec, type StepBase, type StepSpec } from './types';
import type { VariableScope } from './variables';

const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
export const SCHEDULE_PRESETS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
};
const CRON_FIELD = /^(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;

export interface ValidateOptions {
  /** Names of the task functions the worker has; when given, `task` and `branch.fn` must name one. */
  taskNames?: readonly string[];
}

/** Each kind's compile step and extra reads, typed so one call serves every kind. */
type Compilers = {
  [K in StepKind]: {
    compile(config: StepOptionsByKind[K], ctx: CompileContext): StepConfigByKind[K];
    reads?(config: StepConfigByKind[K], scope: VariableScope): string[];
    oneTry?: boolean;
  };
};
const COMPILERS: Compilers = STEP_KIND_TABLE;

/** A step with its kind's compile step applied to its config. */
function compileStep<K extends StepKind>(step: StepBase & { kind: K; config: StepOptionsByKind[K] }, ctx: CompileContext): StepSpec {
  const kind = COMPILERS[step.kind];
  const config = kind.compile(step.config ?? {}, ctx);
  const retry = kind.oneTry ? { ...step.retry, retries: 0 } : step.retry;
  // The step of one kind K with its compiled config is a member of the StepSpec union.
  return { ...step, retry, config } as StepSpec;
}

function extraReads<K extends StepKind>(step: StepBase & { kind: K; config: StepConfigByKind[K] }, scope: VariableScope): string[] {
  return COMPILERS[step.kind].reads?.(step.config, scope) ?? [];
}

/** The variables a step's templates may use: a mapped step also has `map.*` and `map_index`. */
function scopeOf(step: Pick<StepBase, 'map'>, scope: VariableScope): VariableScope {
  if (step.map === undefined) return scope;
  const { expand } = step.map;
  const keyed = expand !== null && typeof expand === 'object' && !Array.isArray(expand) && !isXComRef(expand);
  return { ...scope, mapKeys: keyed ? Object.keys(expand) : 'any' };
}

/** Checks a spec and fills every default: the spec to run, and every problem (none when it is valid). */
export function compileSpec(spec: PipelineSpec | PipelineDraft, opts: ValidateOptions = {}): { spec: PipelineSpec; problems: string[] } {
  const problems: string[] = [];
  if (typeof spec.id !== 'string' || !ID.test(spec.id)) {
    problems.push(`pipeline id '${String(spec.id)}' must use letters, digits, '_', '.', '-'`);
  }
  if (spec.schedule !== undefined) {
    const fields = spec.schedule.trim().split(/\s+/);
    // hasOwn, not `in`: 'toString' or 'constructor' is no preset.
    if (!Object.hasOwn(SCHEDULE_PRESETS, spec.schedule) && !(fields.length === 5 && fields.every((f) => CRON_FIELD.test(f)))) {
      problems.push(`schedule '${spec.schedule}' is neither a 5-field cron expression nor one of ${Object.keys(SCHEDULE_PRESETS).join(', ')}`);
    }
  }
  problems.push(...scheduleProblems(spec));
  if (spec.maxActiveRuns !== undefined && !(Number.isInteger(spec.maxActiveRuns) && spec.maxActiveRuns >= 1)) {
    problems.push(`maxActiveRuns must be a whole number of at least 1`);
  }
  if (spec.runner !== undefined && !isRunner(spec.runner)) {
    problems.push(`runner '${String(spec.runner)}' must be one of ${RUNNERS.map((r) => `'${r}'`).join(', ')}`);
  }
  const steps = Array.isArray(spec.steps) ? spec.steps : [];
  if (steps.length === 0) problems.push('the pipeline has no steps');

  const seen = new Set<string>();
  for (const step of steps) {
    if (!ID.test(step.id)) problems.push(`step '${step.id}': id must use letters, digits, '_', '.', '-'`);
    if (seen.has(step.id)) problems.push(`step '${step.id}': duplicate id (ids must be unique, group prefix included)`);
    seen.add(step.id);
  }
  const scope: VariableScope = { stepIds: [...seen], paramNames: Object.keys(spec.params ?? {}) };
  const followers = followersOf(steps);

  const compiled: StepSpec[] = [];
  for (const step of steps) {
    const where = `step '${step.id}'`;
    if (!isStepKind(step.kind)) {
      problems.push(`${where}: unknown kind '${String(step.kind)}'; kinds: ${STEP_KINDS.join(', ')}`);
      compiled.push(step as StepSpec);
      continue;
    }
    if (!TRIGGER_RULES.includes(step.triggerRule)) {
      problems.push(`${where}: unknown trigger rule '${String(step.triggerRule)}'; rules: ${TRIGGER_RULES.join(', ')}`);
    }
    for (const up of step.upstream) {
      if (up === step.id) problems.push(`${where}: depends on itself`);
      else if (!seen.has(up)) problems.push(`${where}: depends on unknown step '${up}'`);
    }
    const at = { where, problems };
    const { retries, backoffCoefficient } = step.retry;
    if (!Number.isInteger(retries) || retries < 0) problems.push(`${where}: retries must be a whole number ≥ 0`);
    if (!(typeof backoffCoefficient === 'number' && backoffCoefficient >= 1)) problems.push(`${where}: retry backoff must be a number ≥ 1`);
    checkDuration(at, 'retryDelay', step.retry.retryDelay, { required: true });
    checkDuration(at, 'maxRetryDelay', step.retry.maxRetryDelay, { required: true });
    checkDuration(at, 'timeout', step.timeout, { required: true });
    checkDuration(at, 'heartbeatTimeout', step.heartbeatTimeout, { required: true });
    const stepScope = scopeOf(step, scope);
    const ctx: CompileContext = { where, followers: followers.get(step.id) ?? [], scope: stepScope, mapped: step.map !== undefined, problems, ...(opts.taskNames ? { taskNames: opts.taskNames } : {}) };
    compiled.push(compileStep(step, ctx));
    const scanned = scanValue(step.config, stepScope);
    for (const problem of scanned.problems) problems.push(`${where}: ${problem}`);
    if (step.map !== undefined) problems.push(...mapProblems(step.id, step.map, scope.stepIds));
  }

  if (spec.mlflow !== undefined) problems.push(...mlflowProblems(spec.mlflow, { stepIds: [], paramNames: scope.paramNames }));

  const cycle = findCycle(steps);
  if (cycle) problems.push(`the steps form a cycle: ${cycle.join(' -> ')}`);
  else {
    for (const step of compiled) {
      if (!isStepKind(step.kind)) continue;
      const ancestors = ancestorsOf(step.id, steps);
      const stepScope = scopeOf(step, scope);
      const reads = scanValue(step.config, stepScope).xcomSteps;
      for (const id of extraReads(step, stepScope)) reads.add(id);
      if (step.map !== undefined) for (const id of scanValue(step.map.expand, scope).xcomSteps) reads.add(id);
      for (const read of reads) {
        if (!ancestors.has(read)) {
          problems.push(`step '${step.id}': reads XCom of '${read}', which is not upstream of it; add '${read}' to its after list`);
        }
      }
    }
  }
  return { spec: { ...spec, steps: compiled }, problems };
}

/** The least catch-up window Temporal accepts, in ms. */
export const MIN_CATCHUP_MS = 10_000;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** The schedule's options: time zone, start and end dates, jitter and catch-up. */
function scheduleProblems(spec: PipelineSpec | PipelineDraft): string[] {
  const problems: string[] = [];
  if (spec.timezone !== undefined) {
    let known = typeof spec.timezone === 'string' && spec.timezone !== '';
    try {
      if (known) new Intl.DateTimeFormat('en', { timeZone: spec.timezone });
    } catch {
      known = false;
    }
    if (!known) problems.push(`timezone '${String(spec.timezone)}' is not an IANA time zone; use a name like 'UTC' or 'Europe/Berlin'`);
  }
  const dates: Record<string, number> = {};
  for (const field of ['startDate', 'endDate'] as const) {
    const value = spec[field];
    if (value === undefined) continue;
    const ms = typeof value === 'string' && ISO_DATE.test(value) ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) problems.push(`${field} '${String(value)}' is not an ISO date; write it like '2026-03-01' or '2026-03-01T06:00:00Z'`);
    else dates[field] = ms;
  }
  if (dates.startDate !== undefined && dates.endDate !== undefined && dates.endDate <= dates.startDate) {
    problems.push(`endDate '${String(spec.endDate)}' must be after startDate '${String(spec.startDate)}'`);
  }
  if (spec.jitter !== undefined && (typeof spec.jitter !== 'string' || parseDuration(spec.jitter) === undefined)) {
    problems.push(`jitter '${String(spec.jitter)}' is not a duration; write it like '30s', '5m' or '1h30m'`);
  }
  if (spec.catchup !== undefined && typeof spec.catchup !== 'boolean') {
    const ms = typeof spec.catchup === 'string' ? parseDuration(spec.catchup) : undefined;
    if (ms === undefined || ms < MIN_CATCHUP_MS) {
      problems.push(`catchup '${String(spec.catchup)}' must be true, false or a duration of at least 10s, like '1h'`);
    }
  }
  if (spec.schedule === undefined) {
    const set = (['timezone', 'startDate', 'endDate', 'jitter', 'catchup'] as const).filter((f) => spec[f] !== undefined);
    if (set.length > 0) problems.push(`${set.join(', ')} only apply to a scheduled pipeline; add a schedule or remove them`);
  }
  return problems;
}

/** The `mlflow` option: an experiment name, whose templates may read the run (ds, params) but no step's XCom. */
function mlflowProblems(mlflow: MlflowTracking, scope: VariableScope): string[] {
  if (mlflow === null || typeof mlflow !== 'object' || Array.isArray(mlflow)) {
    return [`mlflow must be an object like { experiment: 'daily-training' }`];
  }
  if (typeof mlflow.experiment !== 'string' || mlflow.experiment.trim() === '') {
    return [`mlflow.experiment must be the MLflow experiment's name (templates allowed, like 'daily-training-{{ ds }}')`];
  }
  return scanValue(mlflow.experiment, scope).problems.map((p) => `mlflow.experiment: ${p}`);
}

/** Returns every problem of a spec; an empty list means it is valid. */
export function pipelineProblems(spec: PipelineSpec | PipelineDraft, opts: ValidateOptions = {}): string[] {
  return compileSpec(spec, opts).problems;
}

/** Throws a PipelineValidationError listing every problem, or returns the compiled spec. */
export function validatePipeline(spec: PipelineSpec | PipelineDraft, opts: ValidateOptions = {}): PipelineSpec {
  const { spec: compiled, problems } = compileSpec(spec, opts);
  if (problems.length > 0) throw new PipelineValidationError(String(spec.id), problems);
  return compiled;
}
