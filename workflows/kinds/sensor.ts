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
import { ActivityCancellationType, CancellationScope, condition, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { PipelineCheck, S3KeyCheck, TrainyardActivities } from '../../activities';
import { NOT_RETRIED_BY_TEMPORAL, failure } from '../../contract';
import { type Json, formatDuration, parseDuration, rescheduleDelay, sensorTiming } from '../../pipeline';
import type { TryContext, TryRunner } from './try';

/** Extra time the server gives a poke activity beyond the sensor's own deadline. */
const POKE_GRACE_MS = 60_000;

type SensorOutcome = { xcom: Json } | { skipped: string };

/** An s3Key sensor's try: waits until its keys are in S3. */
export const s3KeySensorTry: TryRunner<'sensor.s3Key'> = (t) => {
  const { bucket, key, wildcard, minSize } = t.config;
  return waitFor(t, { kind: 's3Key', bucket, keys: [key].flat(), wildcard, minSize }, bucket);
};

/** A pipeline sensor's try: waits until the other pipeline's run (or step) reaches an allowed state. */
export const pipelineSensorTry: TryRunner<'sensor.pipeline'> = (t) => {
  const c = t.config;
  const shifted = new Date(new Date(t.ref.run.logicalDate).getTime() - (parseDuration(c.executionDelta) ?? 0)).toISOString();
  return waitFor(t, {
    kind: 'pipeline',
    pipelineId: c.pipelineId,
    logicalDate: shifted,
    ...(c.stepId !== undefined ? { stepId: c.stepId } : {}),
    allowedStates: c.allowedStates,
    failedStates: c.failedStates,
  });
};

/** Checks until a match or the deadline, in the sensor's mode; S3 events for `bucket` wake it. */
async function waitFor(
  { config, ref, step, env, progress, changed }: TryContext<'sensor.s3Key' | 'sensor.pipeline'>,
  check: S3KeyCheck | PipelineCheck,
  bucket = '',
): Promise<SensorOutcome> {
  const timing = sensorTiming(config);
  const heartbeatTimeoutMs = parseDuration(step.heartbeatTimeout) ?? 0;
  const deadline = Date.now() + timing.timeoutMs;
  const retry = { maximumAttempts: 3, initialInterval: '1s', nonRetryableErrorTypes: NOT_RETRIED_BY_TEMPORAL };
  let note: string;
  const eventCount = (): number => env.events?.count(bucket) ?? 0;
  if (timing.mode === 'poke') {
    progress.note = `poking every ${formatDuration(timing.pokeIntervalMs)}`;
    changed();
    // An S3 event for the bucket cancels the poke and starts another, which looks at once.
    for (let poke = 1; ; poke++) {
      const { pokeSensor } = proxyActivities<TrainyardActivities>({
        activityId: `${step.id}#${ref.attempt}${poke > 1 ? `.${poke}` : ''}`,
        startToCloseTimeout: Math.max(deadline - Date.now(), 0) + POKE_GRACE_MS,
        heartbeatTimeout: heartbeatTimeoutMs,
        retry,
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      });
      const seen = eventCount();
      const scope = new CancellationScope();
      const poking = scope.run(() => pokeSensor({ ...ref, check, timing, deadline: new Date(deadline).toISOString() }));
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
      const result = await checkSensor({ ...ref, check });
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
  throw failure('sensorTimeout', message);
}
