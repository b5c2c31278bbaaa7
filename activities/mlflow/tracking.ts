/**
 * Tracking built in: a run of a pipeline with the `mlflow` option gets one
 * MLflow parent run, and each process or pod try a run nested under it. Both are
 * found by their Trainyard tags before they are created, so a retried activity
 * or a resumed try (its worker killed) finds the run it made instead of making
 * another: one MLflow run per try, never two.
 *
 * The try's process or pod gets MLFLOW_TRACKING_URI, MLFLOW_EXPERIMENT_ID,
 * MLFLOW_RUN_ID and MLFLOW_PARENT_RUN_ID (see `mlflowEnv`), so `mlflow.start_run()`
 * in the user's code resumes that run. Trainyard closes it afterwards with the
 * try's outcome, its duration and the XCom's numbers.
 */
import type { TryRef } from '../../contract';
import { failure, tryTag } from '../../contract';
import type { Json, MlflowRunRef, RunRef } from '../../pipeline';
import { MlflowClient, MlflowError, type Metric, type RunStatus, tagClause, tagOf } from './client';

/** The tags Trainyard writes on the runs it creates (and looks them up by). */
export const TRAINYARD_TAGS = {
  /** 'run' on a pipeline run's parent run, 'try' on a step try's run. */
  level: 'trainyard.level',
  pipelineId: 'trainyard.pipeline_id',
  pipelineVersion: 'trainyard.pipeline_version',
  runId: 'trainyard.run_id',
  logicalDate: 'trainyard.logical_date',
  workflowId: 'trainyard.workflow_id',
  temporalUrl: 'trainyard.temporal_url',
  apiUrl: 'trainyard.api_url',
  stepId: 'trainyard.step_id',
  kind: 'trainyard.kind',
  attempt: 'trainyard.attempt',
  mapIndex: 'trainyard.map_index',
  /** `trainyard.map.<key>`: one tag per value of a mapped step's index. */
  mapValuePrefix: 'trainyard.map.',
  /** The try's tag (`run step[index]#attempt`): what makes a try's run findable. */
  try: 'trainyard.try',
  /** How the run or try ended: success, failed, pruned, cancelled. */
  state: 'trainyard.state',
  /** Why it ended so (the error, the stopping rule's verdict). */
  reason: 'trainyard.reason',
  parentRun: 'mlflow.parentRunId',
  runName: 'mlflow.runName',
} as const;

/** How a run or try ended, as Trainyard closes its MLflow run. */
export type TrackedEnd = 'success' | 'failed' | 'pruned' | 'cancelled';

const STATUS_OF: Record<TrackedEnd, RunStatus> = { success: 'FINISHED', failed: 'FAILED', pruned: 'KILLED', cancelled: 'KILLED' };

/** MLflow caps a tag's value at 8,000 characters (a param's at 6,000). */
const MAX_VALUE = 6_000;
/** Numbers of an XCom logged as metrics, at most. */
const MAX_XCOM_METRICS = 100;

export interface MlflowDeps {
  /** The tracking server's URL as the worker reaches it; without it, tracked runs fail clearly. */
  trackingUri?: string;
  /** The URL pods get as MLFLOW_TRACKING_URI (an in-cluster address). @default trackingUri */
  podTrackingUri?: string;
  /** Bases of the links a parent run carries. */
  links?: { temporalUiUrl?: string; apiUrl?: string; namespace?: string };
  /** A client to use instead of one built from trackingUri. */
  client?: MlflowClient;
}

export interface StartRunTrackingInput {
  run: RunRef;
  /** The experiment's name, templates rendered. */
  experiment: string;
}

export interface StartTryTrackingInput extends TryRef {
  kind: string;
  /** A mapped step's values for this index. */
  values?: Record<string, Json>;
}

export interface EndTrackingInput {
  mlflowRunId: string;
  end: TrackedEnd;
  reason?: string;
  /** The try's XCom: its numbers become metrics `xcom.<path>`. */
  xcom?: Json;
}

const clip = (value: string): string => (value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE - 1)}…` : value);

/** The numbers in an XCom, by dotted path under `xcom.` (lists are skipped: a map's outputs are its trials' own). */
export function xcomMetrics(xcom: Json | undefined, at = 'xcom', out: Record<string, number> = {}): Record<string, number> {
  if (Object.keys(out).length >= MAX_XCOM_METRICS) return out;
  if (typeof xcom === 'number' && Number.isFinite(xcom)) out[at] = xcom;
  else if (xcom !== null && typeof xcom === 'object' && !Array.isArray(xcom)) {
    for (const [key, value] of Object.entries(xcom)) if (at.split('.').length < 4) xcomMetrics(value, `${at}.${key}`, out);
  }
  return out;
}

/** Turns an MLflow error into the failure the table says who retries. */
export function asFailure(err: unknown): unknown {
  if (!(err instanceof MlflowError)) return err;
  return failure(err.transient ? 'mlflowUnavailable' : 'mlflowRejected', err.message, { details: [{ call: err.call, errorCode: err.errorCode, status: err.status }] });
}

/** Runs MLflow calls, turning an MLflow error into the failure the table says who retries. */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw asFailure(err);
  }
}

/** The MLflow variables a try's process or pod gets; none when the run is not tracked. */
export function mlflowEnv(ref: TryRef, trackingUri: string | undefined): Record<string, string> {
  const tracked = ref.run.mlflow;
  if (!tracked || ref.mlflowRunId === undefined || !trackingUri) return {};
  return {
    MLFLOW_TRACKING_URI: trackingUri,
    MLFLOW_EXPERIMENT_ID: tracked.experimentId,
    MLFLOW_RUN_ID: ref.mlflowRunId,
    MLFLOW_PARENT_RUN_ID: tracked.runId,
  };
}

/** The worker's MLflow client, made on first use; without a tracking server, a clear failure naming who needed it. */
export function mlflowClientOf(deps: MlflowDeps): (what: string) => MlflowClient {
  let client = deps.client;
  return (what) => {
    if (client) return client;
    if (!deps.trackingUri) {
      throw failure('mlflowNotConfigured', `${what} needs an MLflow tracking server and this worker has none; set TRAINYARD_MLFLOW_TRACKING_URI on the worker (e.g. http://127.0.0.1:5000)`);
    }
    client = new MlflowClient({ trackingUri: deps.trackingUri });
    return client;
  };
}

export function createTrackingActivities(mlflow: (what: string) => MlflowClient, deps: Pick<MlflowDeps, 'links'> = {}) {
  return {
    /** The run's parent MLflow run: found by the run's id, else created with the run's tags, params and links. */
    async mlflowStartRun(input: StartRunTrackingInput): Promise<MlflowRunRef> {
      const { run } = input;
      const api = mlflow(`pipeline '${run.pipelineId}' (its mlflow option)`);
      return guarded(async () => {
        const experimentId = await api.getOrCreateExperiment(input.experiment);
        const filter = `${tagClause(TRAINYARD_TAGS.runId, run.runId)} and ${tagClause(TRAINYARD_TAGS.level, 'run')}`;
        const [found] = await api.searchRuns({ experimentIds: [experimentId], filter, maxResults: 1 });
        if (found) return { experimentId, runId: found.info.run_id };
        const links = deps.links ?? {};
        const namespace = links.namespace ?? 'default';
        const tags: Record<string, string> = {
          [TRAINYARD_TAGS.level]: 'run',
          [TRAINYARD_TAGS.pipelineId]: run.pipelineId,
          [TRAINYARD_TAGS.pipelineVersion]: run.pipelineVersion,
          [TRAINYARD_TAGS.runId]: run.runId,
          [TRAINYARD_TAGS.logicalDate]: run.logicalDate,
          [TRAINYARD_TAGS.workflowId]: run.runId,
          'trainyard.runner': run.runner,
        };
        if (links.temporalUiUrl) {
          tags[TRAINYARD_TAGS.temporalUrl] = `${links.temporalUiUrl.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(run.runId)}`;
        }
        if (links.apiUrl) tags[TRAINYARD_TAGS.apiUrl] = `${links.apiUrl.replace(/\/+$/, '')}/runs/${encodeURIComponent(run.runId)}`;
        const created = await api.createRun({ experimentId, runName: run.runId, tags });
        const params = Object.fromEntries(Object.entries(run.params).map(([k, v]) => [k, clip(typeof v === 'string' ? v : JSON.stringify(v))]));
        if (Object.keys(params).length > 0) await api.logBatch(created.info.run_id, { params });
        return { experimentId, runId: created.info.run_id };
      });
    },

    /** A try's run, nested under the run's: found by the try's tag, else created. */
    async mlflowStartTry(input: StartTryTrackingInput): Promise<{ mlflowRunId: string }> {
      const tracked = input.run.mlflow;
      if (!tracked) throw failure('mlflowNotConfigured', `run ${input.run.runId} has no MLflow parent run; a try's run nests under it`);
      const api = mlflow(`step '${input.stepId}'`);
      return guarded(async () => {
        const tag = tryTag(input);
        const [found] = await api.searchRuns({ experimentIds: [tracked.experimentId], filter: tagClause(TRAINYARD_TAGS.try, tag), maxResults: 1 });
        if (found) return { mlflowRunId: found.info.run_id };
        const tags: Record<string, string> = {
          [TRAINYARD_TAGS.level]: 'try',
          [TRAINYARD_TAGS.parentRun]: tracked.runId,
          [TRAINYARD_TAGS.try]: tag,
          [TRAINYARD_TAGS.pipelineId]: input.run.pipelineId,
          [TRAINYARD_TAGS.runId]: input.run.runId,
          [TRAINYARD_TAGS.stepId]: input.stepId,
          [TRAINYARD_TAGS.kind]: input.kind,
          [TRAINYARD_TAGS.attempt]: String(input.attempt),
        };
        if (input.mapIndex !== undefined) tags[TRAINYARD_TAGS.mapIndex] = String(input.mapIndex);
        for (const [key, value] of Object.entries(input.values ?? {})) {
          tags[`${TRAINYARD_TAGS.mapValuePrefix}${key}`] = clip(typeof value === 'string' ? value : JSON.stringify(value));
        }
        const runName = `${input.stepId}${input.mapIndex !== undefined ? `[${input.mapIndex}]` : ''}#${input.attempt}`;
        const created = await api.createRun({ experimentId: tracked.experimentId, runName, tags });
        return { mlflowRunId: created.info.run_id };
      });
    },

    /** Closes a run with its outcome: status, state and reason tags, duration and the XCom's numbers. Idempotent. */
    async mlflowEndRun(input: EndTrackingInput): Promise<void> {
      const api = mlflow('closing an MLflow run');
      await guarded(async () => {
        const run = await api.getRun(input.mlflowRunId);
        const status = STATUS_OF[input.end];
        // Closed already by an earlier attempt of this activity: nothing to add twice.
        if (run.info.status === status && tagOf(run, TRAINYARD_TAGS.state) === input.end) return;
        const endTime = Date.now();
        const metrics: Metric[] = Object.entries(xcomMetrics(input.xcom)).map(([key, value]) => ({ key, value, timestamp: endTime }));
        if (run.info.start_time !== undefined) metrics.push({ key: 'trainyard.duration_s', value: (endTime - run.info.start_time) / 1000, timestamp: endTime });
        const tags: Record<string, string> = { [TRAINYARD_TAGS.state]: input.end };
        if (input.reason) tags[TRAINYARD_TAGS.reason] = clip(input.reason);
        await api.logBatch(input.mlflowRunId, { metrics, tags });
        await api.updateRun(input.mlflowRunId, { status, endTime });
      });
    },
  };
}
