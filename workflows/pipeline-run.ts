/**
 * pipelineRun: interprets a pipeline spec. Deterministic: all I/O happens in
 * activities, imported here as types only.
 *
 * Every ready step starts at once; a step's trigger rule decides, from its
 * upstreams' states, whether it runs, waits, or settles as skipped or
 * upstream_failed. A step's tries run in step-runner.ts; a mapped step's
 * indices run as child workflows under a coordinator (map-step.ts), and the
 * mapped step counts as one step for its followers' trigger rules.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import {
  MAP_STEP_WORKFLOW,
  type MapStepResult,
  type MapStepSummary,
  type PipelineRunInput,
  type RunState,
  type StepRunState,
  coordinatorId,
  failure,
  failureOf,
  runStateQuery,
  s3ObjectEventSignal,
  searchAttributes,
} from '../contract';
import {
  type Json,
  type MapSpec,
  type ResolvedMap,
  type RunContext,
  type RunRef,
  type StepSpec,
  TERMINAL_STEP_STATES,
  checkMapLength,
  compileSpec,
  decideTrigger,
  followersOf,
  leavesOf,
  mapDefaults,
  renderValue,
  resolveMap,
  resolveParams,
  resolveRunner,
  specVersion,
} from '../pipeline';
import { ApprovalDesk } from './approval-desk';
import type { StepEnv } from './kinds';
import type { mapStep } from './map-step';
import { describeFailure, runTries } from './step-runner';
import { endTracking, startRunTracking } from './tracking';
import type { TrainyardActivities } from '../activities';

/** A closed run's state, put in history for readers with no worker (the API's run detail). */
const record = proxyActivities<TrainyardActivities>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 5 } });

/** A failed coordinator's result, carried in its failure's details. */
function findDetails(err: unknown): MapStepResult | undefined {
  const found = failureOf(err);
  return found?.name === 'mapStepFailed' ? (found.failure.details?.[0] as MapStepResult | undefined) : undefined;
}

function summaryOf(result: MapStepResult): Omit<MapStepSummary, 'coordinatorId' | 'total'> {
  const { succeeded, failed, pruned, peakActive, failures, prunedIndices } = result;
  return { succeeded, failed, pruned, peakActive, failures, prunedIndices };
}

function logicalDateOf(input: PipelineRunInput): string {
  if (input.logicalDate) return new Date(input.logicalDate).toISOString();
  const scheduled = workflowInfo().typedSearchAttributes.get(
    { name: 'TemporalScheduledStartTime', type: 'DATETIME' } as const,
  );
  return (scheduled ?? workflowInfo().startTime).toISOString();
}

export async function pipelineRun(input: PipelineRunInput): Promise<RunState> {
  const info = workflowInfo();
  // The spec as sent fixes the version; compiled again, it is checked and has every default
  // (a spec from the builder is compiled already and comes back unchanged).
  const version = specVersion(input.spec);
  const { spec, problems } = compileSpec(input.spec);
  const { params, problems: paramProblems } = resolveParams(spec, input.params ?? {});
  problems.push(...paramProblems);
  if (input.pipelineVersion !== undefined && input.pipelineVersion !== version) {
    problems.push(`pipelineVersion '${input.pipelineVersion}' does not match the spec's hash '${version}'; send the spec unchanged`);
  }
  if (input.startedBy !== undefined && (typeof input.startedBy !== 'string' || input.startedBy.trim() === '')) {
    problems.push(`startedBy must be the identity of who starts the run, like alice@example.com; leave it out when no one does`);
  }

  const ref: RunRef = {
    pipelineId: spec.id,
    pipelineVersion: version,
    runId: info.workflowId,
    logicalDate: logicalDateOf(input),
    params,
    runner: resolveRunner({ request: input.runner, pipeline: spec.runner }),
    ...(typeof input.startedBy === 'string' ? { startedBy: input.startedBy.trim() } : {}),
  };
  const run: RunState = {
    run: ref,
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
  // S3 events wake the run's waiting sensors on that bucket (they look again at once).
  const eventCounts = new Map<string, number>();
  setHandler(s3ObjectEventSignal, (event) => {
    eventCounts.set(event.bucket, (eventCounts.get(event.bucket) ?? 0) + 1);
  });
  const setRunState = (status: RunState['status']): void => {
    run.status = status;
    upsertSearchAttributes([{ key: searchAttributes.runState, value: status }]);
  };
  upsertSearchAttributes([
    { key: searchAttributes.pipelineId, value: spec.id },
    { key: searchAttributes.pipelineVersion, value: ref.pipelineVersion },
    { key: searchAttributes.runState, value: 'running' },
    { key: searchAttributes.logicalDate, value: new Date(ref.logicalDate) },
  ]);

  if (problems.length > 0) {
    setRunState('failed');
    run.summary = `pipeline '${spec.id}' is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`;
    throw failure('pipelineInvalid', run.summary, { details: [{ problems, state: run }] });
  }

  const stateOf = new Map<string, StepRunState>(run.steps.map((s) => [s.id, s]));
  const followers = followersOf(spec.steps);
  const xcom: Record<string, Json> = {};
  const stepIds = spec.steps.map((s) => s.id);
  const context = (): RunContext => ({ run: ref, xcom, stepIds });

  // Tracked runs: the parent MLflow run exists before any step, and every try nests under it.
  if (spec.mlflow) {
    try {
      ref.mlflow = await startRunTracking(ref, renderValue(spec.mlflow.experiment, context()) as string);
    } catch (err) {
      setRunState('failed');
      run.summary = `run failed: cannot start its MLflow run: ${describeFailure(err).message}`;
      throw failure('runFailed', run.summary, { details: [{ failedSteps: [], state: run }] });
    }
  }
  const endRun = async (end: 'success' | 'failed' | 'cancelled'): Promise<void> => {
    if (ref.mlflow) await endTracking(ref.mlflow.runId, end, run.summary);
  };
  let changed = true;
  const approvals = new ApprovalDesk({
    ...(ref.startedBy !== undefined ? { startedBy: ref.startedBy } : {}),
    show: (stepId, approval) => {
      const st = stateOf.get(stepId);
      if (st) st.approval = approval;
      changed = true;
    },
  });
  const settle = (st: StepRunState, state: StepRunState['state'], error?: string): void => {
    st.state = state;
    st.endedAt = new Date().toISOString();
    if (error !== undefined) st.error = error;
    if (state === 'failed') run.failedSteps.push(st.id);
    changed = true;
  };

  const envOf = (step: StepSpec): StepEnv => ({
    run: ref,
    followers: followers.get(step.id) ?? [],
    context,
    events: { count: (bucket) => eventCounts.get(bucket) ?? 0 },
    approvals,
  });

  /** A branch's (or an approval's) choice: followers it did not choose settle as skipped, for `reason`. */
  const applyChoice = (step: StepSpec, st: StepRunState, chosen: string[], reason = `not chosen by ${step.kind} '${step.id}'`): void => {
    st.chosen = chosen;
    for (const follower of followers.get(step.id) ?? []) {
      const fs = stateOf.get(follower);
      if (fs?.state === 'queued' && !chosen.includes(follower)) settle(fs, 'skipped', reason);
    }
  };

  const execute = async (step: StepSpec): Promise<void> => {
    const st = stateOf.get(step.id) as StepRunState;
    let result: Awaited<ReturnType<typeof runTries>>;
    try {
      // Rendering keeps the config's shape; only its templates and references become values.
      result = await runTries(step, () => renderValue(step.config, context()) as StepSpec['config'], envOf(step), st, () => {
        changed = true;
      });
    } catch (err) {
      if (st.state === 'failed') run.failedSteps.push(st.id);
      throw err;
    }
    if (!result.ok) {
      run.failedSteps.push(st.id);
      return;
    }
    const { xcom: output, chosen, notChosen, skipped } = result.outcome;
    if (skipped !== undefined) {
      settle(st, 'skipped', skipped);
      return;
    }
    if (output !== undefined) {
      xcom[step.id] = output;
      st.output = output;
    }
    if (chosen) applyChoice(step, st, chosen, notChosen);
  };

  /** A mapped step: resolve its values here, then hand the indices to a coordinator child workflow. */
  const executeMapped = async (step: StepSpec & { map: MapSpec }): Promise<void> => {
    const st = stateOf.get(step.id) as StepRunState;
    st.state = 'running';
    st.attempt = 1;
    st.startedAt = new Date().toISOString();
    changed = true;
    let resolved: ResolvedMap;
    try {
      resolved = resolveMap(step.id, step.map, xcom);
      checkMapLength(step.id, resolved, mapDefaults(step.map).maxMapLength);
    } catch (err) {
      settle(st, 'failed', (err as Error).message);
      return;
    }
    if (resolved.length === 0) {
      settle(st, 'skipped', 'mapped over an empty list');
      return;
    }
    const coordinator = coordinatorId(ref.runId, step.id);
    st.map = { total: resolved.length, coordinatorId: coordinator };
    // Only the XCom the step's templates can read travels to the coordinator.
    const upstreamXCom = Object.fromEntries(step.upstream.filter((id) => Object.hasOwn(xcom, id)).map((id) => [id, xcom[id] as Json]));
    let result: MapStepResult;
    try {
      result = await executeChild<typeof mapStep>(MAP_STEP_WORKFLOW, {
        workflowId: coordinator,
        args: [
          {
            step,
            followers: followers.get(step.id) ?? [],
            context: { ...context(), xcom: upstreamXCom },
            resolved,
          },
        ],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        typedSearchAttributes: [
          { key: searchAttributes.pipelineId, value: spec.id },
          { key: searchAttributes.parentRunId, value: ref.runId },
          { key: searchAttributes.stepId, value: step.id },
        ],
      });
    } catch (err) {
      if (isCancellation(err)) {
        settle(st, 'failed', 'run cancelled');
        throw err;
      }
      const details = findDetails(err);
      if (details) Object.assign(st.map, summaryOf(details));
      settle(st, 'failed', describeFailure(err).message);
      return;
    }
    Object.assign(st.map, summaryOf(result));
    xcom[step.id] = result.outputs;
    st.output = result.outputs;
    if (result.chosen) applyChoice(step, st, result.chosen);
    settle(st, 'success');
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
            // A step may settle without ever waiting (a map that cannot resolve): the loop must still wake.
            const done = (step.map ? executeMapped(step as StepSpec & { map: MapSpec }) : execute(step)).finally(() => {
              running.delete(step.id);
              changed = true;
            });
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
    await CancellationScope.nonCancellable(() => endRun('cancelled'));
    if (patched('cancelled-run-state')) await CancellationScope.nonCancellable(() => record.recordRunEnd(run)).catch(() => undefined);
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
    await endRun('failed');
    throw failure('runFailed', run.summary, { details: [{ failedSteps: run.failedSteps, state: run }] });
  }
  run.summary = `run succeeded: ${run.steps.filter((s) => s.state === 'success').length} step(s) ran, ${run.steps.filter((s) => s.state === 'skipped').length} skipped`;
  setRunState('success');
  await endRun('success');
  return run;
}
