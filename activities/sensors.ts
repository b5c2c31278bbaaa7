/**
 * Sensor checks: is the S3 object there, is the other pipeline's run or step in
 * an allowed state. `checkSensor` looks once (reschedule mode: the workflow waits
 * on a durable timer between checks); `pokeSensor` looks every interval until a
 * match or the deadline, heartbeating, and resumes its count on another worker
 * after a crash (poke mode). Neither ever fails for "not yet".
 */
import { HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { type ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import {
  type CompiledTiming,
  type Json,
  type StepState,
  type WatchedState,
  globPrefix,
  globToRegExp,
  isGlob,
  judgeWatchedState,
  nextPokeDelay,
} from '../pipeline';
import { type RunState, type TryRef, failure, runStateQuery, runsQuery, tryTag } from '../contract';

/** What an s3Key sensor looks for, rendered. */
export interface S3KeyCheck {
  kind: 's3Key';
  bucket: string;
  keys: string[];
  wildcard: boolean;
  minSize: number;
}

/** What a pipeline sensor looks for: the logical date is already shifted by executionDelta. */
export interface PipelineCheck {
  kind: 'pipeline';
  pipelineId: string;
  logicalDate: string;
  stepId?: string;
  allowedStates?: WatchedState[];
  failedStates?: WatchedState[];
}

export interface SensorCheckInput extends TryRef {
  check: S3KeyCheck | PipelineCheck;
}

export interface PokeSensorInput extends SensorCheckInput {
  timing: CompiledTiming;
  /** ISO time after which poking stops without a match. */
  deadline: string;
}

export type SensorResult = { matched: true; xcom: Json } | { matched: false; note: string; checks: number };

export interface SensorDeps {
  /** The S3 client for s3Key sensors; without one they fail clearly. */
  s3?: S3Client;
}

/** Most matches an s3Key sensor's XCom lists for one wildcard key. */
const MAX_LISTED = 1000;

type Found = { matched: true; xcom: Json } | { matched: false; note: string };

function s3ErrorOf(err: unknown): { name: string; status: number | undefined } {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return { name: e.name ?? 'Error', status: e.$metadata?.httpStatusCode };
}

function accessFailure(where: string, err: unknown): ApplicationFailure {
  const { name, status } = s3ErrorOf(err);
  return failure('sensorAccess', `access to ${where} was refused (${name}${status ? `, HTTP ${status}` : ''}); give the worker's S3 credentials s3:ListBucket and s3:GetObject on it`);
}

async function checkS3(s3: S3Client, check: S3KeyCheck): Promise<Found> {
  const matches: { key: string; size: number; etag: string; lastModified: string }[] = [];
  for (const key of check.keys) {
    const where = `s3://${check.bucket}/${key}`;
    try {
      if (check.wildcard && isGlob(key)) {
        const pattern = globToRegExp(key);
        const found: typeof matches = [];
        let token: string | undefined;
        do {
          const page = await s3.send(
            new ListObjectsV2Command({ Bucket: check.bucket, Prefix: globPrefix(key), ...(token ? { ContinuationToken: token } : {}) }),
          );
          for (const o of page.Contents ?? []) {
            if (o.Key !== undefined && pattern.test(o.Key) && (o.Size ?? 0) >= check.minSize && found.length < MAX_LISTED) {
              found.push({ key: o.Key, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, ''), lastModified: o.LastModified?.toISOString() ?? '' });
            }
          }
          token = page.IsTruncated && found.length < MAX_LISTED ? page.NextContinuationToken : undefined;
        } while (token);
        if (found.length === 0) return { matched: false, note: `nothing matches ${where}${check.minSize ? ` with at least ${check.minSize} bytes` : ''}` };
        matches.push(...found);
      } else {
        const head = await s3.send(new HeadObjectCommand({ Bucket: check.bucket, Key: key }));
        const size = head.ContentLength ?? 0;
        if (size < check.minSize) return { matched: false, note: `${where} has ${size} bytes, fewer than minSize ${check.minSize}` };
        matches.push({ key, size, etag: (head.ETag ?? '').replace(/"/g, ''), lastModified: head.LastModified?.toISOString() ?? '' });
      }
    } catch (err) {
      const { name, status } = s3ErrorOf(err);
      if (name === 'NotFound' || name === 'NoSuchKey' || status === 404) {
        return { matched: false, note: name === 'NoSuchBucket' ? `bucket '${check.bucket}' does not exist (yet)` : `no object at ${where}` };
      }
      if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) throw accessFailure(where, err);
      // A server error or no answer: the same check again (Temporal's retry of this activity) may pass.
      throw failure('storeUnavailable', `could not check ${where} (${name}${status ? `, HTTP ${status}` : ''})`, err instanceof Error ? { cause: err } : {});
    }
  }
  return { matched: true, xcom: { bucket: check.bucket, matches } };
}

/** The newest pipelineRun of a pipeline for a logical date, with its state (a step's, or the run's). */
async function checkPipeline(client: Client, check: PipelineCheck): Promise<Found> {
  const at = new Date(check.logicalDate).toISOString();
  // A range of one millisecond: the run whose logical date is exactly `at`.
  const query = runsQuery({ pipelineId: check.pipelineId, logicalDate: { from: at, to: new Date(Date.parse(at) + 1) } });
  let newest: { workflowId: string; status: string; startTime: Date } | undefined;
  for await (const wf of client.workflow.list({ query })) {
    if (!newest || wf.startTime > newest.startTime) newest = { workflowId: wf.workflowId, status: wf.status.name, startTime: wf.startTime };
  }
  const what = `${check.pipelineId}${check.stepId ? ` step '${check.stepId}'` : ''} for ${at}`;
  let state: WatchedState;
  let runId = '';
  if (!newest) state = 'absent';
  else {
    runId = newest.workflowId;
    if (check.stepId === undefined) {
      state = newest.status === 'RUNNING' ? 'running' : newest.status === 'COMPLETED' ? 'success' : newest.status === 'FAILED' ? 'failed' : 'cancelled';
    } else {
      const run: RunState = await client.workflow.getHandle(newest.workflowId).query(runStateQuery);
      const step = run.steps.find((s) => s.id === check.stepId);
      if (!step) {
        throw failure('sensorFailedState', `pipeline '${check.pipelineId}' has no step '${check.stepId}'; its steps: ${run.steps.map((s) => s.id).join(', ')}`);
      }
      state = step.state satisfies StepState;
    }
  }
  const verdict = judgeWatchedState(check, state);
  if (verdict === 'failed') {
    throw failure('sensorFailedState', `${what} is ${state} (run ${runId}); the sensor fails at once on that state`);
  }
  if (verdict === 'wait') return { matched: false, note: state === 'absent' ? `no run of ${what} yet` : `${what} is ${state} (run ${runId})` };
  return {
    matched: true,
    xcom: { pipelineId: check.pipelineId, runId, logicalDate: at, ...(check.stepId ? { stepId: check.stepId } : {}), state },
  };
}

/**
 * Waits `ms`, or rejects when the activity is cancelled. Unlike Context.sleep it leaves
 * nothing attached to the activity once it returns, so a poke that waits for days in
 * short slices does not pile up handlers.
 */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const cancelled = (): void => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new CancelledFailure('the sensor was cancelled'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', cancelled);
      resolve();
    }, ms);
    if (signal.aborted) cancelled();
    else signal.addEventListener('abort', cancelled, { once: true });
  });
}

export function createSensorActivities(deps: SensorDeps = {}) {
  const checkOnce = (input: SensorCheckInput): Promise<Found> => {
    const { check } = input;
    if (check.kind === 'pipeline') return checkPipeline(Context.current().client, check);
    if (!deps.s3) {
      return Promise.reject(
        failure('sensorAccess', 'this worker has no S3 access; set TRAINYARD_S3_ENDPOINT (an S3-compatible server) or TRAINYARD_S3_REGION (AWS) on the worker'),
      );
    }
    return checkS3(deps.s3, check);
  };

  return {
    /** One look (reschedule mode). */
    async checkSensor(input: SensorCheckInput): Promise<SensorResult> {
      const found = await checkOnce(input);
      return found.matched ? found : { ...found, checks: 1 };
    },

    /** Looks every interval until a match or the deadline (poke mode); heartbeats between looks. */
    async pokeSensor(input: PokeSensorInput): Promise<SensorResult> {
      const ctx = Context.current();
      const deadline = new Date(input.deadline).getTime();
      const resumed = ctx.info.heartbeatDetails as { checks?: number } | undefined;
      let checks = resumed?.checks ?? 0;
      if (checks > 0) ctx.log.info(`${tryTag(input)}: sensor resumed after ${checks} checks`);
      for (;;) {
        const found = await checkOnce(input);
        checks++;
        if (found.matched) return found;
        ctx.heartbeat({ checks, note: found.note });
        const left = deadline - Date.now();
        if (left <= 0) return { ...found, checks };
        // Sleep in short slices with a heartbeat each, so a lost worker is noticed long before the next check.
        const wakeAt = Date.now() + Math.min(nextPokeDelay(input.timing, checks), left);
        while (Date.now() < wakeAt) {
          await pause(Math.min(wakeAt - Date.now(), 2000), ctx.cancellationSignal);
          ctx.heartbeat({ checks, note: found.note });
        }
      }
    },
  };
}
