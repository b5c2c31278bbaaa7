/**
 * Mapped steps: one coordinator workflow per mapped step (`mapStep`) starts one
 * child workflow per index (`mapTrial`), at most `maxActive` at a time.
 *
 * Why a coordinator: a run's own history then grows by one child per mapped step,
 * however wide the map. The coordinator keeps its history under Temporal's
 * limits by continuing as new: before its history could pass the budget it stops
 * starting trials, lets the running ones finish, and carries the results so far
 * into a fresh run (completions of children started by an earlier run would not
 * reach a later one, hence the drain).
 *
 * Early stopping: trials report intermediate metrics by signal (the runner
 * forwards `trainyard.metric` lines); the coordinator applies the median stopping
 * rule and cancels the trials it stops, which kills their process or deletes
 * their pod before the trial ends as `pruned`.
 */
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  continueAsNew,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import {
  MAP_TRIAL_WORKFLOW,
  type MapCarried,
  type MapStepInput,
  type MapStepResult,
  type TrialInput,
  type TrialStateView,
  failure,
  mapStateQuery,
  searchAttributes,
  trialId,
  trialMetricsSignal,
  trialStateQuery,
  trialStopSignal,
} from '../contract';
import { type Json, type StepSpec, type TrialState, MedianStopping, mapDefaults, mapValues, renderValue } from '../pipeline';
import type { StepOutcome } from './kinds';
import { describeFailure, runTries } from './step-runner';

/** Events a coordinator run may reach before it must roll over (Temporal's hard limit is far above). */
const HISTORY_BUDGET = 9_000;
/** Events one running trial can still add to the coordinator before it ends (its completion and a workflow task). */
const EVENTS_PER_ACTIVE_TRIAL = 4;
/** Up to this many running trials, every metric report re-judges all of them. */
const REJUDGE_ALL_UP_TO = 64;
/** Failures and prunes listed by name in the summary; the counts cover the rest. */
const LISTED = 100;

/** One index of a mapped step: the step's tries, as a child workflow of the coordinator. */
export async function mapTrial(input: TrialInput): Promise<StepOutcome> {
  const { step, run } = input;
  const view: TrialStateView = {
    stepId: step.id,
    mapIndex: input.mapIndex,
    values: input.values,
    config: step.config,
    state: 'pending',
    attempt: 0,
    maxAttempts: step.retry.retries + 1,
  };
  setHandler(trialStateQuery, () => view);
  let stopReason: string | undefined;
  setHandler(trialStopSignal, ({ reason }) => {
    stopReason = reason;
  });
  const result = await runTries(
    step,
    () => step.config,
    {
      run,
      followers: input.followers,
      // Mapped branches choose with a function; conditions never read the run here.
      context: () => ({ run, xcom: {}, stepIds: [] }),
      mapIndex: input.mapIndex,
      mapValues: input.values,
      stopReason: () => stopReason,
      ...(input.metricsTo !== undefined ? { metricsTo: input.metricsTo } : {}),
    },
    view,
    () => undefined,
  );
  if (!result.ok) throw failure('trialFailed', result.error);
  return result.outcome;
}

const LETTER: Record<TrialState, string> = { pending: 'p', running: 'r', success: 's', failed: 'f', pruned: 'x' };

/** Coordinates a mapped step's indices; resolves with the outputs, or fails listing why. */
export async function mapStep(input: MapStepInput): Promise<MapStepResult> {
  const { step, resolved } = input;
  const map = step.map;
  if (map === undefined) throw failure('mapError', `step '${step.id}' has no map`);
  const { run } = input.context;
  const { maxActive, minSuccessRatio } = mapDefaults(map);
  const total = resolved.length;
  const info = workflowInfo();
  const carried: MapCarried = input.carried ?? {
    next: 0,
    states: 'p'.repeat(total),
    outputs: {},
    chosen: [],
    failures: [],
    prunedIndices: [],
    counts: { succeeded: 0, failed: 0, pruned: 0 },
    peakActive: 0,
    runs: 0,
  };
  carried.runs++;
  const states = carried.states.split('');
  const stopping = map.earlyStopping ? new MedianStopping(map.earlyStopping, carried.stopping) : undefined;
  const metric = map.earlyStopping?.metric;
  const active = new Map<number, { scope: CancellationScope; done: Promise<void> }>();
  const pruneReasons = new Map<number, string>();
  let changed = false;

  setHandler(mapStateQuery, () => ({
    stepId: step.id,
    total,
    running: [...active.keys()],
    counts: carried.counts,
    states: states.map((s, i) => (active.has(i) ? LETTER.running : s)).join(''),
    peakActive: carried.peakActive,
    runs: carried.runs,
  }));
  const judge = (index: number): void => {
    const running = active.get(index);
    if (!stopping || !running || pruneReasons.has(index)) return;
    const verdict = stopping.judge(index, Date.now());
    if (verdict.stop) {
      pruneReasons.set(index, verdict.reason);
      if (!run.mlflow) running.scope.cancel();
      else {
        // A tracked trial closes its MLflow run as it stops: it hears why first.
        void getExternalWorkflowHandle(trialId(run.runId, step.id, index))
          .signal(trialStopSignal, { reason: `pruned: ${verdict.reason}` })
          .catch(() => undefined)
          .finally(() => running.scope.cancel());
      }
    }
  };
  setHandler(trialMetricsSignal, ({ index, reports }) => {
    if (!stopping || metric === undefined || !active.has(index) || pruneReasons.has(index)) return;
    for (const report of reports) {
      const value = report.values[metric];
      if (typeof value === 'number') stopping.report(index, report.step, value);
    }
    judge(index);
    // New evidence can sink a trial that was not judgeable when it last reported (too few peers
    // had got as far); with a modest number running, look at all of them again.
    if (active.size <= REJUDGE_ALL_UP_TO) for (const other of active.keys()) if (other !== index) judge(other);
  });

  const settle = (index: number, state: 'success' | 'failed' | 'pruned', detail?: string): void => {
    active.delete(index);
    stopping?.finish(index);
    states[index] = LETTER[state];
    if (state === 'success') carried.counts.succeeded++;
    else if (state === 'failed') {
      carried.counts.failed++;
      if (carried.failures.length < LISTED) carried.failures.push({ index, error: detail ?? 'failed' });
    } else {
      carried.counts.pruned++;
      if (carried.prunedIndices.length < LISTED) carried.prunedIndices.push({ index, reason: detail ?? 'pruned' });
    }
    changed = true;
  };

  const launch = (index: number): void => {
    const values = mapValues(resolved, index);
    let config: unknown;
    try {
      config = renderValue(step.config, { ...input.context, map: values, mapIndex: index });
    } catch (err) {
      settle(index, 'failed', `cannot render step config: ${(err as Error).message}`);
      return;
    }
    // The trial gets the step without its map: the expanded lists would weigh on every child's start event.
    const unmapped: StepSpec = { ...step };
    delete unmapped.map;
    const trial: TrialInput = {
      run,
      // The rendered config has the shape of the step's config; only its templates changed.
      step: { ...unmapped, config } as StepSpec,
      mapIndex: index,
      values,
      followers: input.followers,
      ...(stopping ? { metricsTo: info.workflowId } : {}),
    };
    stopping?.start(index, Date.now());
    const scope = new CancellationScope();
    const done = scope
      .run(() =>
        executeChild<(t: TrialInput) => Promise<StepOutcome>>(MAP_TRIAL_WORKFLOW, {
          workflowId: trialId(run.runId, step.id, index),
          args: [trial],
          // A pruned or cancelled trial ends only once its process is killed or its pod is gone.
          cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          typedSearchAttributes: [
            { key: searchAttributes.pipelineId, value: run.pipelineId },
            { key: searchAttributes.parentRunId, value: run.runId },
            { key: searchAttributes.stepId, value: step.id },
            { key: searchAttributes.mapIndex, value: index },
          ],
        }),
      )
      .then(
        (outcome) => {
          carried.outputs[String(index)] = outcome.xcom ?? null;
          for (const id of outcome.chosen ?? []) if (!carried.chosen.includes(id)) carried.chosen.push(id);
          settle(index, 'success');
        },
        (err: unknown) => {
          // A pruned trial may end cancelled or, if its program died of the stop first, failed: pruned either way.
          const pruned = pruneReasons.get(index);
          if (pruned !== undefined) settle(index, 'pruned', pruned);
          else if (isCancellation(err)) settle(index, 'failed', 'run cancelled');
          else settle(index, 'failed', describeFailure(err).message);
        },
      );
    active.set(index, { scope, done });
    carried.peakActive = Math.max(carried.peakActive, active.size);
  };

  // Past this, the running trials' completions could take the history over the budget.
  const mustRollOver = (): boolean =>
    workflowInfo().historyLength + EVENTS_PER_ACTIVE_TRIAL * (active.size + 1) >= HISTORY_BUDGET || workflowInfo().continueAsNewSuggested;

  try {
    for (;;) {
      while (active.size < maxActive && carried.next < total && !mustRollOver()) launch(carried.next++);
      if (active.size === 0) {
        if (carried.next >= total) break;
        carried.states = states.join('');
        if (stopping) carried.stopping = stopping.toJSON();
        await continueAsNew<typeof mapStep>({ ...input, carried });
      }
      changed = false;
      await condition(() => changed);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // The run was cancelled: every trial is cancelled with it; wait until their processes and pods are gone.
    await CancellationScope.nonCancellable(() => Promise.allSettled([...active.values()].map((a) => a.done)));
    throw err;
  }

  const outputs: Json[] = [];
  for (let i = 0; i < total; i++) if (states[i] === LETTER.success) outputs.push(carried.outputs[String(i)] ?? null);
  const { succeeded, failed, pruned } = carried.counts;
  const result: MapStepResult = {
    total,
    succeeded,
    failed,
    pruned,
    peakActive: carried.peakActive,
    failures: [...carried.failures].sort((a, b) => a.index - b.index),
    prunedIndices: [...carried.prunedIndices].sort((a, b) => a.index - b.index),
    outputs,
    runs: carried.runs,
    ...(step.kind === 'branch' ? { chosen: carried.chosen } : {}),
  };
  const judged = total - pruned;
  const ratio = judged === 0 ? 0 : succeeded / judged;
  if (ratio < minSuccessRatio) {
    const reasons = carried.failures.slice(0, 5).map((f) => `index ${f.index}: ${f.error.split('\n')[0] ?? ''}`);
    const message =
      judged === 0
        ? `all ${total} indices were pruned; none is left to succeed`
        : `${succeeded} of ${judged} indices succeeded (${failed} failed${pruned ? `, ${pruned} pruned and not counted` : ''}); ` +
          `minSuccessRatio ${minSuccessRatio} needs ${Math.ceil(minSuccessRatio * judged)}` +
          (reasons.length ? `\n${reasons.join('\n')}` : '');
    throw failure('mapStepFailed', message, { details: [result] });
  }
  return result;
}
