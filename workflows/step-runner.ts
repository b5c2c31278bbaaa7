/**
 * One step's tries, shared by the run interpreter (plain steps) and the trial
 * workflow (one index of a mapped step). Deterministic: activities are imported
 * as types only.
 *
 * Retries are driven here, one activity per try with durable timers between
 * tries, so the state always shows the try in progress. Who retries what is the
 * failure table's word (contract/failures.ts): Temporal itself retries a try only
 * when its worker was lost (the same try resumes, re-attaching to its process or
 * pod) or a store was briefly unavailable.
 */
import { ActivityCancellationType, CancellationScope, TimeoutFailure, isCancellation, proxyActivities, sleep } from '@temporalio/workflow';
import type { TrainyardActivities } from '../activities';
import { NOT_RETRIED_BY_TEMPORAL, type TryProgress, type TryRef, failure, retriedBy } from '../contract';
import { type StepConfigByKind, type StepKind, type StepOf, type StepSpec, parseDuration } from '../pipeline';
import { type StepEnv, type StepOutcome, TRY_RUNNERS } from './kinds';
import { endTracking, startTryTracking, tracksTries } from './tracking';

/** Extra time the server allows a try beyond its own timeout, so the activity's own kill and message win. */
const TIMEOUT_GRACE_MS = 30_000;
/** How often Temporal resumes a try whose worker was lost before the try counts as failed. */
const LOST_TRY_ATTEMPTS = 3;

function ms(duration: string): number {
  return parseDuration(duration) ?? 0;
}

/** The message of a failed try and whether another try may help. */
export function describeFailure(err: unknown): { message: string; retryable: boolean } {
  let cause: unknown = err;
  // Unwrap ActivityFailure / ChildWorkflowFailure -> ApplicationFailure / TimeoutFailure.
  while (cause instanceof Error && cause.cause instanceof Error && (cause.name === 'ActivityFailure' || cause.name === 'ChildWorkflowFailure')) cause = cause.cause;
  const retryable = retriedBy(err) !== 'nobody';
  if (cause instanceof TimeoutFailure) return { message: `try timed out (${cause.timeoutType})`, retryable };
  return { message: cause instanceof Error ? cause.message : String(cause), retryable };
}

/** Which try this is, as every activity input starts from it. */
function tryRefOf(step: StepSpec, attempt: number, env: StepEnv): TryRef {
  return {
    run: env.run,
    stepId: step.id,
    attempt,
    ...(env.mapIndex !== undefined ? { mapIndex: env.mapIndex } : {}),
    ...(env.metricsTo !== undefined ? { metricsTo: env.metricsTo } : {}),
  };
}

/** Runs one try: the kind's try runner, with `config` already rendered. */
function runTry<K extends StepKind>(step: StepOf<K>, config: StepConfigByKind[K], ref: TryRef, env: StepEnv, progress: TryProgress, changed: () => void): Promise<StepOutcome> {
  const { attempt } = ref;
  const timeoutMs = ms(step.timeout);
  const acts = proxyActivities<TrainyardActivities>({
    activityId: `${step.id}#${attempt}`,
    startToCloseTimeout: timeoutMs + TIMEOUT_GRACE_MS,
    heartbeatTimeout: ms(step.heartbeatTimeout),
    // Step failures come back to the loop below; Temporal retries only lost tries (same try, same pod).
    retry: { maximumAttempts: LOST_TRY_ATTEMPTS, initialInterval: '1s', nonRetryableErrorTypes: NOT_RETRIED_BY_TEMPORAL },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  return TRY_RUNNERS[step.kind]({ step, config, ref, env, timeoutMs, acts, progress, changed });
}

/**
 * Runs a step's tries until one succeeds, a failure is final, or the retries run
 * out. `render` gives the try's config (a template error fails the step at once).
 * Resolves with the outcome or `{ error }`; rethrows cancellation after marking it.
 */
export async function runTries<S extends StepSpec>(
  step: S,
  render: () => S['config'],
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
  const tracked = tracksTries(env.run, step.kind);
  for (let attempt = 1; ; attempt++) {
    // The try's MLflow run (tracked runs only): opened before the try, closed with its outcome.
    let mlflowRunId: string | undefined;
    progress.attempt = attempt;
    progress.state = 'running';
    progress.startedAt = new Date().toISOString();
    delete progress.endedAt;
    changed();
    try {
      let config: S['config'];
      try {
        config = render();
      } catch (err) {
        throw failure('templateError', `cannot render step config: ${(err as Error).message}`);
      }
      const ref = tryRefOf(step, attempt, env);
      if (tracked) ref.mlflowRunId = mlflowRunId = await startTryTracking(ref, step.kind, env.mapValues);
      const outcome = await runTry(step, config, ref, env, progress, changed);
      if (mlflowRunId !== undefined) await endTracking(mlflowRunId, 'success', undefined, outcome.xcom);
      delete progress.error;
      delete progress.note;
      settle('success');
      return { ok: true, outcome };
    } catch (err) {
      const stopped = env.stopReason?.();
      if (isCancellation(err)) {
        if (mlflowRunId !== undefined) {
          const id = mlflowRunId;
          await CancellationScope.nonCancellable(() => endTracking(id, stopped !== undefined ? 'pruned' : 'cancelled', stopped ?? 'run cancelled'));
        }
        settle('failed', 'run cancelled');
        throw err;
      }
      const { message, retryable } = describeFailure(err);
      if (mlflowRunId !== undefined) await endTracking(mlflowRunId, stopped !== undefined ? 'pruned' : 'failed', stopped ?? message);
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
