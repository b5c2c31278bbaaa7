/**
 * MLflow bookkeeping from the workflow side: the run's parent run, and one run
 * per process or pod try, opened before the try and closed with its outcome.
 * Deterministic: activities are imported as types only.
 *
 * Opening a run is part of the try (a tracking server that cannot be reached
 * fails the try like any other store); closing one never fails a step whose work
 * is done: the failure is logged and the run goes on.
 */
import { log, proxyActivities } from '@temporalio/workflow';
import type { TrackedEnd, TrainyardActivities } from '../activities';
import { NOT_RETRIED_BY_TEMPORAL, type TryRef } from '../contract';
import type { Json, MlflowRunRef, RunRef, StepKind } from '../pipeline';

/** The kinds whose tries get an MLflow run of their own: the ones that run the user's code. */
const TRACKED_KINDS: ReadonlySet<StepKind> = new Set<StepKind>(['process', 'pod']);

/** How bookkeeping calls to MLflow are retried: a short outage is waited out, a refusal is not. */
export const BOOKKEEPING_RETRY = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10, nonRetryableErrorTypes: NOT_RETRIED_BY_TEMPORAL };

const tracking = proxyActivities<TrainyardActivities>({ startToCloseTimeout: '2m', retry: BOOKKEEPING_RETRY });

/** True when tries of this kind in this run get MLflow runs. */
export function tracksTries(run: RunRef, kind: StepKind): boolean {
  return run.mlflow !== undefined && TRACKED_KINDS.has(kind);
}

export function startRunTracking(run: RunRef, experiment: string): Promise<MlflowRunRef> {
  return tracking.mlflowStartRun({ run, experiment });
}

export async function startTryTracking(ref: TryRef, kind: StepKind, values?: Record<string, Json>): Promise<string> {
  const { mlflowRunId } = await tracking.mlflowStartTry({ ...ref, kind, ...(values !== undefined ? { values } : {}) });
  return mlflowRunId;
}

/** Closes an MLflow run with how its run or try ended; a failure to do so is logged, not raised. */
export async function endTracking(mlflowRunId: string, end: TrackedEnd, reason?: string, xcom?: Json): Promise<void> {
  try {
    await tracking.mlflowEndRun({ mlflowRunId, end, ...(reason !== undefined ? { reason } : {}), ...(xcom !== undefined ? { xcom } : {}) });
  } catch (err) {
    log.warn('could not close the MLflow run', { mlflowRunId, end, error: (err as Error).message });
  }
}
