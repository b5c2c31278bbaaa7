/**
 * One step's tries, shared by the run interpreter (plain steps) and the trial
 * workflow (one index of a mapped step). Deterministic: activities are imported
 * as types only.
 *
 * Retries are driven here, one activity per try with durable timers between
 * tries, so the state always shows the try in progress. Temporal itself retries
 * a try only when its worker was lost (the same try resumes, re-attaching to its
 * process or pod).
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  TimeoutFailure,
  isCancellation,
  proxyActivities,
  sleep,
} from '@temporalio/workflow';
import type { TrainyardActivities } from '../activities';
import {
  type EnvVar,
  type Json,
  type PodConfig,
  type RunContext,
  type StepSpec,
  STEP_FAILURE_TYPES,
  evaluateCondition,
  parseCondition,
  parseDuration,
} from '../pipeline';
import type { Runner } from './definitions';
import { type SensorEvents, runSensor } from './sensor';

/** Extra time the server allows a try beyond its own timeout, so the activity's own kill and message win. */
const TIMEOUT_GRACE_MS = 30_000;
/** How often Temporal resumes a try whose worker was lost before the try counts as failed. */
const LOST_TRY_ATTEMPTS = 3;

function ms(duration: string): number {
  return parseDuration(duration) ?? 0;
}

/** A step failure the interpreter raises itself; never retried. */
function stepError(message: string, type: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, type);
}

/** The message of a failed try and whether another try may help. */
export function describeFailure(err: unknown): { message: string; retryable: boolean } {
  let cause: unknown = err;
  // Unwrap ActivityFailure / ChildWorkflowFailure -> ApplicationFailure / TimeoutFailure.
  while (cause instanceof Error && cause.cause instanceof Error && (cause.name === 'ActivityFailure' || cause.name === 'ChildWorkflowFailure')) cause = cause.cause;
  if (cause instanceof TimeoutFailure) return { message: `try timed out (${cause.timeoutType})`, retryable: true };
  if (cause instanceof ApplicationFailure) return { message: cause.message, retryable: !cause.nonRetryable };
  return { message: cause instanceof Error ? cause.message : String(cause), retryable: true };
}

/** What a step's tries need to know about the run they belong to. */
export interface StepEnv {
  pipelineId: string;
  runId: string;
  logicalDate: string;
  params: Record<string, Json>;
  runner: Runner;
  /** The step's direct followers: what a branch may choose. */
  followers: readonly string[];
  /** The run as templates and branch conditions see it. */
  context: () => RunContext;
  /** Set for one index of a mapped step. */
  mapIndex?: number;
  /** Workflow that takes the try's intermediate metrics (the mapped step's coordinator). */
  metricsTo?: string;
  /** S3 events the run has been told of: they wake waiting s3Key sensors. */
  events?: SensorEvents;
}

/** The part of a step's state its tries move along. */
export interface TryProgress {
  state: 'queued' | 'running' | 'up_for_retry' | 'success' | 'failed' | 'skipped' | 'upstream_failed' | 'pending' | 'pruned';
  attempt: number;
  maxAttempts: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** What a waiting sensor saw last, and when it looks again. */
  note?: string;
}

export interface StepOutcome {
  xcom?: Json;
  /** For branch steps: the followers chosen. */
  chosen?: string[];
  /** The step settles as skipped, for this reason (a sensor's softFail). */
  skipped?: string;
}

/** Runs one try: the activity for the step's kind, with `config` already rendered. */
async function runTry(
  step: StepSpec,
  config: Record<string, unknown>,
  attempt: number,
  env: StepEnv,
  progress: TryProgress,
  changed: () => void,
): Promise<StepOutcome> {
  const timeoutMs = ms(step.timeout);
  const acts = proxyActivities<TrainyardActivities>({
    activityId: `${step.id}#${attempt}`,
    startToCloseTimeout: timeoutMs + TIMEOUT_GRACE_MS,
    heartbeatTimeout: ms(step.heartbeatTimeout),
    // Step failures come back to the loop below; Temporal retries only lost tries (same try, same pod).
    retry: { maximumAttempts: LOST_TRY_ATTEMPTS, initialInterval: '1s', nonRetryableErrorTypes: STEP_FAILURE_TYPES },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const call = {
    pipelineId: env.pipelineId,
    runId: env.runId,
    stepId: step.id,
    attempt,
    ...(env.mapIndex !== undefined ? { mapIndex: env.mapIndex } : {}),
    ...(env.metricsTo !== undefined ? { metricsTo: env.metricsTo } : {}),
  };
  const runTask = (c: { fn: string; args?: unknown }) =>
    acts.runTask({ ...call, fn: c.fn, args: c.args ?? null, logicalDate: env.logicalDate, params: env.params, timeoutMs });
  switch (step.kind) {
    case 'process': {
      const c = config as { command: string[]; cwd?: string; env?: Record<string, string> };
      const vars = Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value }));
      return acts.runProcess({ ...call, command: c.command, ...(c.cwd ? { cwd: c.cwd } : {}), env: vars, timeoutMs });
    }
    case 'pod': {
      if (env.runner === 'kubernetes') return acts.runPod({ ...call, config: config as unknown as PodConfig, timeoutMs });
      const c = config as { image: string; cmds?: string[]; arguments?: string[]; env?: EnvVar[] };
      return acts.runProcess({
        ...call,
        image: c.image,
        command: [...(c.cmds ?? []), ...(c.arguments ?? [])],
        env: c.env ?? [],
        timeoutMs,
      });
    }
    case 'task':
      return runTask(config as { fn: string; args?: unknown });
    case 'notify': {
      const c = config as { webhookEnv?: string; url?: string; text: string; fields?: Record<string, unknown> };
      return acts.notify({ ...call, ...c });
    }
    case 'sensor.s3Key':
    case 'sensor.pipeline':
      return runSensor(step, config, call, env.logicalDate, ms(step.heartbeatTimeout), env.events, progress, changed);
    case 'branch': {
      // Conditions are read from the unrendered spec: they are expressions, not templates.
      const raw = step.config as { cases?: { if: string; then: string | string[] }[]; otherwise?: string | string[] };
      let chosen: string[];
      if (raw.cases !== undefined || raw.otherwise !== undefined) {
        const ctx = env.context();
        const scope = { stepIds: ctx.stepIds, paramNames: Object.keys(env.params) };
        const hit = (raw.cases ?? []).find((c) => {
          try {
            return evaluateCondition(parseCondition(c.if, scope), ctx);
          } catch (err) {
            throw stepError(`condition '${c.if}': ${(err as Error).message}`, 'ConditionError');
          }
        });
        chosen = [hit ? hit.then : (raw.otherwise ?? [])].flat();
      } else {
        const c = config as { fn: string; args?: unknown };
        const value = (await runTask(c)).xcom;
        const ids = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
        if (!Array.isArray(value) ? typeof value !== 'string' : ids.length !== value.length) {
          throw stepError(`branch function '${c.fn}' must return a step id or a list of step ids, not ${JSON.stringify(value)}`, 'BranchError');
        }
        chosen = ids;
      }
      const unknown = chosen.filter((id) => !env.followers.includes(id));
      if (unknown.length > 0) {
        throw stepError(`branch chose ${unknown.join(', ')}, which is not a direct follower; followers: ${env.followers.join(', ')}`, 'BranchError');
      }
      return { xcom: chosen, chosen };
    }
  }
}

/**
 * Runs a step's tries until one succeeds, a failure is final, or the retries run
 * out. `render` gives the try's config (a template error fails the step at once).
 * Resolves with the outcome or `{ error }`; rethrows cancellation after marking it.
 */
export async function runTries(
  step: StepSpec,
  render: () => Record<string, unknown>,
  env: StepEnv,
  progress: TryProgress,
  changed: () => void,
): Promise<{ ok: true; outcome: StepOutcome } | { ok: false; error: string }> {
  const settle = (state: TryProgress['state'], error?: string): void => {
    progress.state = state;
    progress.endedAt = new Date().toISOString();
    if (error !== undefined) progress.error = error;
    changed();
  };
  for (let attempt = 1; ; attempt++) {
    progress.attempt = attempt;
    progress.state = 'running';
    progress.startedAt = new Date().toISOString();
    delete progress.endedAt;
    changed();
    try {
      let config: Record<string, unknown>;
      try {
        config = render();
      } catch (err) {
        throw stepError(`cannot render step config: ${(err as Error).message}`, 'TemplateError');
      }
      const outcome = await runTry(step, config, attempt, env, progress, changed);
      delete progress.error;
      delete progress.note;
      settle('success');
      return { ok: true, outcome };
    } catch (err) {
      if (isCancellation(err)) {
        settle('failed', 'run cancelled');
        throw err;
      }
      const { message, retryable } = describeFailure(err);
      progress.error = message;
      delete progress.note;
      if (!retryable || attempt >= progress.maxAttempts) {
        settle('failed', message);
        return { ok: false, error: message };
      }
      progress.state = 'up_for_retry';
      changed();
      const delay = ms(step.retry.retryDelay) * step.retry.backoffCoefficient ** (attempt - 1);
      try {
        await sleep(Math.min(delay, ms(step.retry.maxRetryDelay)));
      } catch (sleepErr) {
        settle('failed', 'run cancelled while waiting to retry');
        throw sleepErr;
      }
    }
  }
}
