/**
 * Validation before anything runs. Every problem is collected, each prefixed
 * with the step it belongs to, and reported in one PipelineValidationError.
 */
import { conditionSteps, parseCondition } from './condition';
import { parseDuration } from './duration';
import { PipelineValidationError } from './errors';
import { ancestorsOf, findCycle, followersOf } from './graph';
import { mapProblems } from './mapping';
import { pipelineSensorProblems, s3KeySensorProblems } from './sensors';
import { isXComRef, scanValue } from './template';
import { STEP_KINDS, TRIGGER_RULES, type PipelineSensorConfig, type PipelineSpec, type S3KeySensorConfig, type StepSpec } from './types';
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

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function checkDuration(problems: string[], where: string, field: string, value: unknown): void {
  if (typeof value !== 'string' || parseDuration(value) === undefined) {
    problems.push(`${where}: ${field} '${String(value)}' is not a duration; write it like '30s', '5m', '4h' or '1h30m'`);
  }
}

function checkConfig(step: StepSpec, problems: string[], followers: readonly string[], scope: VariableScope, opts: ValidateOptions): void {
  const where = `step '${step.id}'`;
  const config = (step.config ?? {}) as unknown as Record<string, unknown>;
  const needTask = (name: unknown, field: string): void => {
    if (typeof name !== 'string' || name === '') problems.push(`${where}: ${field} must name a registered task function`);
    else if (opts.taskNames && !opts.taskNames.includes(name)) {
      problems.push(`${where}: ${field} '${name}' is not registered with the worker; registered: ${opts.taskNames.join(', ') || '(none)'}`);
    }
  };
  switch (step.kind) {
    case 'process':
      if (!isStringArray(config.command) || config.command.length === 0) {
        problems.push(`${where}: command must be a non-empty list of strings, e.g. ['python', 'train.py']`);
      }
      break;
    case 'pod':
      if (typeof config.image !== 'string' || config.image === '') problems.push(`${where}: image is required, e.g. 'ml-trainer:latest'`);
      if (config.cmds !== undefined && !isStringArray(config.cmds)) problems.push(`${where}: cmds must be a list of strings`);
      if (config.arguments !== undefined && !isStringArray(config.arguments)) problems.push(`${where}: arguments must be a list of strings`);
      if (!isStringArray(config.cmds) || config.cmds.length === 0) {
        if (!isStringArray(config.arguments) || config.arguments.length === 0) {
          problems.push(`${where}: give cmds (and arguments) to run; the local runner has no image entrypoint`);
        }
      }
      if (config.env !== undefined) {
        if (!Array.isArray(config.env)) problems.push(`${where}: env must be a list of { name, value } or { name, valueFrom }`);
        else {
          for (const [i, env] of (config.env as Record<string, unknown>[]).entries()) {
            if (typeof env?.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(env.name)) {
              problems.push(`${where}: env[${i}].name must be a variable name`);
            } else if ((env.value === undefined) === (env.valueFrom === undefined)) {
              problems.push(`${where}: env '${env.name}' needs exactly one of value or valueFrom`);
            }
          }
        }
      }
      break;
    case 'task':
      needTask(config.fn, 'fn');
      break;
    case 'branch': {
      const hasCases = config.cases !== undefined || config.otherwise !== undefined;
      if (hasCases === (config.fn !== undefined)) {
        problems.push(`${where}: give either cases (with an optional otherwise) or fn, not both and not neither`);
      }
      if (config.fn !== undefined) needTask(config.fn, 'fn');
      const targets: unknown[] = [];
      if (config.cases !== undefined) {
        if (!Array.isArray(config.cases)) problems.push(`${where}: cases must be a list of { if, then }`);
        else {
          for (const [i, c] of (config.cases as Record<string, unknown>[]).entries()) {
            if (typeof c?.if !== 'string') problems.push(`${where}: cases[${i}].if must be a condition string`);
            else {
              try {
                parseCondition(c.if, scope);
              } catch (err) {
                problems.push(`${where}: cases[${i}].if: ${(err as Error).message}`);
              }
            }
            targets.push(c?.then);
          }
        }
      }
      if (config.otherwise !== undefined) targets.push(config.otherwise);
      for (const target of targets.flat()) {
        if (typeof target !== 'string') problems.push(`${where}: branch targets must be step ids`);
        else if (!followers.includes(target)) {
          problems.push(`${where}: branch target '${target}' is not a direct follower; followers: ${followers.join(', ') || '(none)'}`);
        }
      }
      break;
    }
    case 'notify':
      if (typeof config.text !== 'string') problems.push(`${where}: text is required`);
      if ((config.webhookEnv === undefined) === (config.url === undefined)) {
        problems.push(`${where}: give exactly one of webhookEnv (name of an env var holding a secret URL) or url`);
      }
      if (config.url !== undefined && (typeof config.url !== 'string' || !/^https?:\/\//.test(config.url))) {
        problems.push(`${where}: url must start with http:// or https://`);
      }
      if (config.webhookEnv !== undefined && (typeof config.webhookEnv !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(config.webhookEnv))) {
        problems.push(`${where}: webhookEnv must be an environment variable name`);
      }
      break;
    case 'sensor.s3Key':
      problems.push(...s3KeySensorProblems(config as unknown as S3KeySensorConfig, where));
      break;
    case 'sensor.pipeline':
      problems.push(...pipelineSensorProblems(config as unknown as PipelineSensorConfig, where));
      break;
  }
}

function branchConditionSteps(step: StepSpec, scope: VariableScope): string[] {
  const cases = (step.config as { cases?: unknown }).cases;
  if (!Array.isArray(cases)) return [];
  return cases.flatMap((c: { if?: unknown }) => {
    try {
      return typeof c.if === 'string' ? conditionSteps(parseCondition(c.if, scope)) : [];
    } catch {
      return []; // already reported by checkConfig
    }
  });
}

/** Returns every problem of a spec; an empty list means it is valid. */
/** The variables a step's templates may use: a mapped step also has `map.*` and `map_index`. */
function scopeOf(step: StepSpec, scope: VariableScope): VariableScope {
  if (step.map === undefined) return scope;
  const { expand } = step.map;
  const keyed = expand !== null && typeof expand === 'object' && !Array.isArray(expand) && !isXComRef(expand);
  return { ...scope, mapKeys: keyed ? Object.keys(expand) : 'any' };
}

export function pipelineProblems(spec: PipelineSpec, opts: ValidateOptions = {}): string[] {
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
  if (spec.maxActiveRuns !== undefined && !(Number.isInteger(spec.maxActiveRuns) && spec.maxActiveRuns >= 1)) {
    problems.push(`maxActiveRuns must be a whole number of at least 1`);
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

  for (const step of steps) {
    const where = `step '${step.id}'`;
    if (!STEP_KINDS.includes(step.kind)) {
      problems.push(`${where}: unknown kind '${String(step.kind)}'; kinds: ${STEP_KINDS.join(', ')}`);
      continue;
    }
    if (!TRIGGER_RULES.includes(step.triggerRule)) {
      problems.push(`${where}: unknown trigger rule '${String(step.triggerRule)}'; rules: ${TRIGGER_RULES.join(', ')}`);
    }
    for (const up of step.upstream) {
      if (up === step.id) problems.push(`${where}: depends on itself`);
      else if (!seen.has(up)) problems.push(`${where}: depends on unknown step '${up}'`);
    }
    const { retries, backoffCoefficient } = step.retry;
    if (!Number.isInteger(retries) || retries < 0) problems.push(`${where}: retries must be a whole number ≥ 0`);
    if (!(typeof backoffCoefficient === 'number' && backoffCoefficient >= 1)) problems.push(`${where}: retry backoff must be a number ≥ 1`);
    checkDuration(problems, where, 'retryDelay', step.retry.retryDelay);
    checkDuration(problems, where, 'maxRetryDelay', step.retry.maxRetryDelay);
    checkDuration(problems, where, 'timeout', step.timeout);
    checkDuration(problems, where, 'heartbeatTimeout', step.heartbeatTimeout);
    const stepScope = scopeOf(step, scope);
    checkConfig(step, problems, followers.get(step.id) ?? [], stepScope, opts);
    const scanned = scanValue(step.config, stepScope);
    for (const problem of scanned.problems) problems.push(`${where}: ${problem}`);
    if (step.map !== undefined) {
      problems.push(...mapProblems(step.id, step.map, scope.stepIds));
      if (step.kind === 'branch' && (step.config as { fn?: unknown }).fn === undefined) {
        problems.push(`${where}: a mapped branch must choose with a task function (fn); conditions (cases) read the run once, not per index`);
      }
    }
  }

  const cycle = findCycle(steps);
  if (cycle) problems.push(`the steps form a cycle: ${cycle.join(' -> ')}`);
  else {
    for (const step of steps) {
      const ancestors = ancestorsOf(step.id, steps);
      const stepScope = scopeOf(step, scope);
      const reads = scanValue(step.config, stepScope).xcomSteps;
      if (step.kind === 'branch') for (const id of branchConditionSteps(step, stepScope)) reads.add(id);
      if (step.map !== undefined) for (const id of scanValue(step.map.expand, scope).xcomSteps) reads.add(id);
      for (const read of reads) {
        if (!ancestors.has(read)) {
          problems.push(`step '${step.id}': reads XCom of '${read}', which is not upstream of it; add '${read}' to its after list`);
        }
      }
    }
  }
  return problems;
}

/** Throws a PipelineValidationError listing every problem, or returns the spec unchanged. */
export function validatePipeline(spec: PipelineSpec, opts: ValidateOptions = {}): PipelineSpec {
  const problems = pipelineProblems(spec, opts);
  if (problems.length > 0) throw new PipelineValidationError(String(spec.id), problems);
  return spec;
}
