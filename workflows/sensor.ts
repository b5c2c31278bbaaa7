/**
 * One try of a sensor step. Deterministic: the checks are activities, imported
 * as types only.
 *
 * - `reschedule`: a short check activity, then a durable timer (no worker slot held)
 *   until the next check, or until an S3 event for the sensor's bucket wakes it. The
 *   interval stretches so a try makes at most MAX_RESCHEDULE_CHECKS checks: each adds
 *   to the run's history, which Temporal caps.
 * - `poke`: one long activity that checks every interval and heartbeats; a worker
 *   that dies mid-wait is replaced and the activity resumes its count. An S3 event
 *   for the bucket cancels it and starts another, which looks at once.
 *
 * On timeout the try fails with SensorTimeout (not retried), or with `softFail`
 * the step settles as skipped.
 */
import { ActivityCancellationType, ApplicationFailure, CancellationScope, condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { PipelineCheck, S3KeyCheck, StepCall, TrainyardActivities } from '../activities';
import {
  type Json,
  type PipelineSensorConfig,
  type S3KeySensorConfig,
  type StepSpec,
  FailureTypes,
  STEP_FAILURE_TYPES,
  formatDuration,
  parseDuration,
  rescheduleDelay,
  sensorTiming,
} from '../pipeline';

/** Extra time the server gives a poke activity beyond the sensor's own deadline. */
const POKE_GRACE_MS = 60_000;

/** What the run tells its sensors: how many S3 events each bucket has had (a change wakes a waiting sensor in either mode). */
export interface SensorEvents {
  count(bucket: string): number;
}

/** What a sensor try reports back to the step's state while it waits. */
export interface SensorProgress {
  note?: string;
}

export type SensorOutcome = { xcom: Json } | { skipped: string };

function checkOf(step: StepSpec, config: Record<string, unknown>, logicalDate: string): S3KeyCheck | PipelineCheck {
  if (step.kind === 'sensor.s3Key') {
    const c = config as unknown as S3KeySensorConfig;
    return { kind: 's3Key', bucket: c.bucket, keys: [c.key].flat(), wildcard: c.wildcard ?? false, minSize: c.minSize ?? 0 };
  }
  const c = config as unknown as PipelineSensorConfig;
  const shifted = new Date(new Date(logicalDate).getTime() - (parseDuration(c.executionDelta ?? '0s') ?? 0)).toISOString();
  return {
    kind: 'pipeline',
    pipelineId: c.pipelineId,
    logicalDate: shifted,
    ...(c.stepId !== undefined ? { stepId: c.stepId } : {}),
    ...(c.allowedStates ? { allowedStates: c.allowedStates } : {}),
    ...(c.failedStates ? { failedStates: c.failedStates } : {}),
  };
}

export async function runSensor(
  step: StepSpec,
  config: Record<string, unknown>,
  call: StepCall,
  logicalDate: string,
  heartbeatTimeoutMs: number,
  events: SensorEvents | undefined,
  progress: SensorProgress,
  changed: () => void,
): Promise<SensorOutcome> {
  const timing = sensorTiming(config);
  const check = checkOf(step, config, logicalDate);
  const deadline = Date.now() + timing.timeoutMs;
  const retry = { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: STEP_FAILURE_TYPES };
  let note: string;
  const bucket = check.kind === 's3Key' ? check.bucket : '';
  const eventCount = (): number => events?.count(bucket) ?? 0;
  if (timing.mode === 'poke') {
    progress.note = `poking every ${formatDuration(timing.pokeIntervalMs)}`;
    changed();
    // An S3 event for the bucket cancels the poke and starts another, which looks at once.
    for (let poke = 1; ; poke++) {
      const { pokeSensor } = proxyActivities<TrainyardActivities>({
        activityId: `${step.id}#${call.attempt}${poke > 1 ? `.${poke}` : ''}`,
        startToCloseTimeout: Math.max(deadline - Date.now(), 0) + POKE_GRACE_MS,
        heartbeatTimeout: heartbeatTimeoutMs,
        retry,
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
      const seen = eventCount();
      const scope = new CancellationScope();
      const poking = scope.run(() => pokeSensor({ ...call, check, timing, deadline: new Date(deadline).toISOString() }));
      const woken = await Promise.race([poking.then(() => false), condition(() => eventCount() !== seen).then(() => true)]);
      if (woken && deadline > Date.now()) {
        scope.cancel();
        await poking.catch((err: unknown) => {
          if (!isCancellation(err)) throw err;
        });
        continue;
      }
      const result = await poking;
      if (result.matched) return { xcom: result.xcom };
      note = `${result.note} (${result.checks} checks)`;
      break;
    }
  } else {
    const { checkSensor } = proxyActivities<TrainyardActivities>({
      startToCloseTimeout: '2m',
      retry,
      cancellationType: ActivityCancellationType.TRY_CANCEL,
    });
    for (let checks = 1; ; checks++) {
      const seen = eventCount();
      const result = await checkSensor({ ...call, check });
      if (result.matched) return { xcom: result.xcom };
      note = `${result.note} (${checks} check${checks === 1 ? '' : 's'})`;
      const left = deadline - Date.now();
      if (left <= 0) break;
      const wait = Math.min(rescheduleDelay(timing, checks), left);
      progress.note = `${note}; next check in ${formatDuration(wait)}`;
      changed();
      await condition(() => eventCount() !== seen, wait);
    }
  }
  const message = `sensor timed out after ${formatDuration(timing.timeoutMs)}: ${note}`;
  if (timing.softFail) return { skipped: `${message} (softFail)` };
  throw ApplicationFailure.nonRetryable(message, FailureTypes.sensorTimeout);
}
