/**
 * pipelineRun: interprets a pipeline spec. Deterministic: all I/O happens in
 * activities, imported here as types only.
 *
 * Every ready step starts at once; a step's trigger rule decides, from its
 * upstreams' states, whether it runs, waits, or settles as skipped or
 * upstream_failed. Retries are driven here (one activity per try, durable
 * timers between tries), so the run state always shows the try in progress.
 */
import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  TimeoutFailure,
  condition,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { TrainyardActivities } from '../activities';
import {
  type EnvVar,
  type Json,
  type PipelineSpec,
  type PodConfig,
  type RunContext,
  type StepSpec,
  STEP_FAILURE_TYPES,
  TERMINAL_STEP_STATES,
  decideTrigger,
  evaluateCondition,
  followersOf,
  leavesOf,
  parseCondition,
  parseDuration,
  pipelineProblems,
  renderValue,
  resolveParams,
  specVersion,
} from '../pipeline';
import { type PipelineRunInput, type RunState, type StepRunState, runStateQuery, searchAttributes } from './definitions';

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

function describe(err: unknown): { message: string; retryable: boolean } {
  let cause: unknown = err;
  // Unwrap ActivityFailure -> ApplicationFailure / TimeoutFailure.
  while (cause instanceof Error && cause.cause instanceof Error && cause.name === 'ActivityFailure') cause = cause.cause;
  if (cause instanceof TimeoutFailure) return { message: `try timed out (${cause.timeoutType})`, retryable: true };
  if (cause instanceof ApplicationFailure) return { message: cause.message, retryable: !cause.nonRetryable };
  return { message: cause instanceof Error ? cause.message : String(cause), retryable: true };
}

function logicalDateOf(input: PipelineRunInput): string {
  if (input.logicalDate) return new Date(input.logicalDate).toISOString();
  const scheduled = workflowInfo().typedSearchAttributes.get(
    { name: 'TemporalScheduledStartTime', type: 'DATETIME' } as const,
  );
  return (scheduled ?? workflowInfo().startTime).toISOString();
}

export async function pipelineRun(input: PipelineRunInput): Promise<RunState> {
  const spec: PipelineSpec = input.spec;
  const info = workflowInfo();
  const { params, problems: paramProblems } = resolveParams(spec, input.params ?? {});
  const problems = [...pipelineProblems(spec), ...paramProblems];
  if (input.pipelineVersion !== undefined && input.pipelineVersion !== specVersion(spec)) {
    problems.push(`pipelineVersion '${input.pipelineVersion}' does not match the spec's hash '${specVersion(spec)}'; send the spec unchanged`);
  }

  const run: RunState = {
    pipelineId: spec.id,
    pipelineVersion: specVersion(spec),
    runId: info.workflowId,
    logicalDate: logicalDateOf(input),
    runner: input.runner ?? 'local',
    params,
    status: 'running',
    startedAt: new Date().toISOString(),
    steps: spec.steps.map((s) => ({
      id: s.id,
      kind: s.kind,
      ...(s.group !== undefined ? { group: s.group } : {}),
      upstream: s.upstream,
      triggerRule: s.triggerRule,
      state: 'queued',
      attempt: 0,
      maxAttempts: s.retry.retries + 1,
    })),
    failedSteps: [],
  };
  setHandler(runStateQuery, () => run);
  const setRunState = (status: RunState['status']): void => {
    run.status = status;
    upsertSearchAttributes([{ key: searchAttributes.runState, value: status }]);
  };
  upsertSearchAttributes([
    { key: searchAttributes.pipelineId, value: spec.id },
    { key: searchAttributes.pipelineVersion, value: run.pipelineVersion },
    { key: searchAttributes.runState, value: 'running' },
    { key: searchAttributes.logicalDate, value: new Date(run.logicalDate) },
  ]);

  if (problems.length > 0) {
    setRunState('failed');
    run.summary = `pipeline '${spec.id}' is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    throw ApplicationFailure.nonRetryable(run.summary, 'PipelineValidationError', { problems });
  }

  const stateOf = new Map<string, StepRunState>(run.steps.map((s) => [s.id, s]));
  const followers = followersOf(spec.steps);
  const xcom: Record<string, Json> = {};
  const stepIds = spec.steps.map((s) => s.id);
  const context = (): RunContext => ({
    pipelineId: spec.id,
    runId: run.runId,
    logicalDate: run.logicalDate,
    params,
    xcom,
    stepIds,
  });
  let changed = true;
  const settle = (st: StepRunState, state: StepRunState['state'], error?: string): void => {
    st.state = state;
    st.endedAt = new Date().toISOString();
    if (error !== undefined) st.error = error;
    if (state === 'failed') run.failedSteps.push(st.id);
    changed = true;
  };

  const runOnce = async (step: StepSpec, attempt: number): Promise<{ xcom?: Json; chosen?: string[] }> => {
    let config: Record<string, unknown>;
    try {
      config = renderValue(step.config, context()) as Record<string, unknown>;
    } catch (err) {
      throw stepError(`cannot render step config: ${(err as Error).message}`, 'TemplateError');
    }
    const timeoutMs = ms(step.timeout);
    const acts = proxyActivities<TrainyardActivities>({
      activityId: `${step.id}#${attempt}`,
      startToCloseTimeout: timeoutMs + TIMEOUT_GRACE_MS,
      heartbeatTimeout: ms(step.heartbeatTimeout),
      // Step failures come back to the loop below; Temporal retries only lost tries (same try, same pod).
      retry: { maximumAttempts: LOST_TRY_ATTEMPTS, initialInterval: '1s', nonRetryableErrorTypes: STEP_FAILURE_TYPES },
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    });
    const call = { pipelineId: spec.id, runId: run.runId, stepId: step.id, attempt };
    const runTask = (c: { fn: string; args?: unknown }) =>
      acts.runTask({ ...call, fn: c.fn, args: c.args ?? null, logicalDate: run.logicalDate, params, timeoutMs });
    switch (step.kind) {
      case 'process': {
        const c = config as { command: string[]; cwd?: string; env?: Record<string, string> };
        const env = Object.entries(c.env ?? {}).map(([name, value]) => ({ name, value }));
        return acts.runProcess({ ...call, command: c.command, ...(c.cwd ? { cwd: c.cwd } : {}), env, timeoutMs });
      }
      case 'pod': {
        if (run.runner === 'kubernetes') return acts.runPod({ ...call, config: config as unknown as PodConfig, timeoutMs });
        const c = config as { image: string; cmds?: string[]; arguments?: string[]; env?: EnvVar[] };
        return acts.runProcess({
          ...call,
          image: c.image,
          command: [...(c.cmds ?? []), ...(c.arguments ?? [])],
          env: c.env ?? [],
          timeoutMs,
        });
      }
      case 'task': {
        const c = config as { fn: string; args?: unknown };
        return runTask(c);
      }
      case 'notify': {
        const c = config as { webhookEnv?: string; url?: string; text: string; fields?: Record<string, unknown> };
        return acts.notify({ ...call, ...c });
      }
      case 'branch': {
        // Conditions are read from the unrendered spec: they are expressions, not templates.
        const raw = step.config as { cases?: { if: string; then: string | string[] }[]; otherwise?: string | string[] };
        let chosen: string[];
        if (raw.cases !== undefined || raw.otherwise !== undefined) {
          const scope = { stepIds, paramNames: Object.keys(params) };
          const hit = (raw.cases ?? []).find((c) => {
            try {
              return evaluateCondition(parseCondition(c.if, scope), context());
            } catch (err) {
              throw stepError(`condition '${c.if}': ${(err as Error).message}`, 'ConditionError');
            }
          });
          chosen = [hit ? hit.then : (raw.otherwise ?? [])].flat();
        } else {
          const c = config as { fn: string; args?: unknown };
          const result = await runTask(c);
          const value = result.xcom;
          const ids = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
          if (!Array.isArray(value) ? typeof value !== 'string' : ids.length !== value.length) {
            throw stepError(`branch function '${c.fn}' must return a step id or a list of step ids, not ${JSON.stringify(value)}`, 'BranchError');
          }
          chosen = ids;
        }
        const allowed = followers.get(step.id) ?? [];
        const unknown = chosen.filter((id) => !allowed.includes(id));
        if (unknown.length > 0) {
          throw stepError(`branch chose ${unknown.join(', ')}, which is not a direct follower; followers: ${allowed.join(', ')}`, 'BranchError');
        }
        return { xcom: chosen, chosen };
      }
    }
  };

  const execute = async (step: StepSpec): Promise<void> => {
    const st = stateOf.get(step.id) as StepRunState;
    for (let attempt = 1; ; attempt++) {
      st.attempt = attempt;
      st.state = 'running';
      st.startedAt = new Date().toISOString();
      delete st.endedAt;
      changed = true;
      try {
        const result = await runOnce(step, attempt);
        if (result.xcom !== undefined) {
          xcom[step.id] = result.xcom;
          st.output = result.xcom;
        }
        if (result.chosen) {
          st.chosen = result.chosen;
          for (const follower of followers.get(step.id) ?? []) {
            const fs = stateOf.get(follower);
            if (fs?.state === 'queued' && !result.chosen.includes(follower)) settle(fs, 'skipped', `not chosen by branch '${step.id}'`);
          }
        }
        delete st.error;
        settle(st, 'success');
        return;
      } catch (err) {
        if (isCancellation(err)) {
          settle(st, 'failed', 'run cancelled');
          throw err;
        }
        const { message, retryable } = describe(err);
        st.error = message;
        if (!retryable || attempt >= st.maxAttempts) {
          settle(st, 'failed', message);
          return;
        }
        st.state = 'up_for_retry';
        changed = true;
        const delay = ms(step.retry.retryDelay) * step.retry.backoffCoefficient ** (attempt - 1);
        try {
          await sleep(Math.min(delay, ms(step.retry.maxRetryDelay)));
        } catch (sleepErr) {
          settle(st, 'failed', 'run cancelled while waiting to retry');
          throw sleepErr;
        }
      }
    }
  };

  const running = new Map<string, Promise<void>>();
  try {
    for (;;) {
      for (let progressed = true; progressed; ) {
        progressed = false;
        for (const step of spec.steps) {
          const st = stateOf.get(step.id) as StepRunState;
          if (st.state !== 'queued') continue;
          const decision = decideTrigger(step.triggerRule, step.upstream.map((id) => (stateOf.get(id) as StepRunState).state));
          if (decision === 'wait') continue;
          progressed = true;
          if (decision === 'run') {
            st.state = 'running';
            const done = execute(step).finally(() => running.delete(step.id));
            // Cancellation rejects it; the loop below sees the cancellation itself.
            done.catch(() => undefined);
            running.set(step.id, done);
          } else {
            settle(st, decision, decision === 'skipped' ? 'upstream skipped' : 'an upstream failed');
          }
        }
      }
      if (running.size === 0) break;
      changed = false;
      await condition(() => changed);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Let every cancelled try finish cleaning up (processes killed) before the run ends.
    await CancellationScope.nonCancellable(() => Promise.allSettled([...running.values()]));
    run.endedAt = new Date().toISOString();
    run.summary = 'run cancelled';
    setRunState('cancelled');
    throw err;
  }

  run.endedAt = new Date().toISOString();
  const unfinished = leavesOf(spec.steps).filter((id) => {
    const state = (stateOf.get(id) as StepRunState).state;
    return state === 'failed' || state === 'upstream_failed';
  });
  if (unfinished.length > 0 || run.steps.some((s) => !TERMINAL_STEP_STATES.includes(s.state))) {
    const failed = run.failedSteps.map((id) => `  ${id}: ${stateOf.get(id)?.error ?? 'failed'}`);
    const shown = unfinished.slice(0, 10).join(', ') + (unfinished.length > 10 ? ` and ${unfinished.length - 10} more` : '');
    run.summary = `run failed: step(s) ${run.failedSteps.join(', ') || '(none)'} failed; leaves that did not succeed: ${shown}\n${failed.join('\n')}`;
    setRunState('failed');
    throw ApplicationFailure.nonRetryable(run.summary, 'PipelineRunFailed', { failedSteps: run.failedSteps });
  }
  run.summary = `run succeeded: ${run.steps.filter((s) => s.state === 'success').length} step(s) ran, ${run.steps.filter((s) => s.state === 'skipped').length} skipped`;
  setRunState('success');
  return run;
}
