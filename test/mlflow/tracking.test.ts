/**
 * Tracking built in, on a real MLflow server and a real Temporal server: a
 * tracked run gets one parent run with its tags, params and links; every process
 * try and every trial of a mapped step a nested run, closed with its outcome
 * (FINISHED, FAILED, KILLED with the stopping rule's reason); the user's code
 * logs into the try's run through the mlflow client with no arguments.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { MlflowClient, TRAINYARD_TAGS } from '../../activities';
import { type Run, tagClause, tagOf } from '../../activities/mlflow/client';
import { type TestMlflow, startTestMlflow } from '../../harness';
import { type Pipeline, defineTask, pipeline } from '../../pipeline';
import { eventually, runToEnd, startRun, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

/** Reports its MLflow variables as XCom, and logs a metric through the mlflow client into "its" run. */
const REPORT = `
import json, os, mlflow
names = ["MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID", "MLFLOW_PARENT_RUN_ID"]
seen = {n: os.environ.get(n) for n in names}
with mlflow.start_run() as run:
    mlflow.log_metric("inner", 1.5)
with open(os.environ["TRAINYARD_XCOM_PATH"], "w") as f:
    json.dump({**seen, "started": run.info.run_id, "rows": 3, "score": {"f1": 0.75}, "label": "x"}, f)
`;

/**
 * One trial: a \`trainyard.metric\` line every 100 ms, rising towards its quality. A
 * poor one stops reporting early and lingers, so the median rule stops it first.
 */
const TRIAL = `
import json, sys, time
q, steps, linger = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
for s in range(1, steps + 1):
    print("trainyard.metric " + json.dumps({"step": s, "score": q * s / steps}), flush=True)
    time.sleep(0.1)
time.sleep(linger)
if linger:
    sys.exit(1)
import os
with open(os.environ["TRAINYARD_XCOM_PATH"], "w") as f:
    json.dump({"accuracy": q}, f)
`;
const TRIALS = [
  { q: 0.9, steps: 20, linger: 0 },
  { q: 0.95, steps: 20, linger: 0 },
  { q: 0.1, steps: 6, linger: 30 },
  { q: 0.92, steps: 20, linger: 0 },
];

const count = defineTask('tracked.count', () => ({ counted: 1 }));

const tracked = pipeline({ id: 'tracked', mlflow: { experiment: 'tracked-{{ ds }}' }, params: { n: 3, label: 'daily' } }, (p) => {
  const report = p.process('report', { command: ['python3', '-c', REPORT] });
  p.process('trial', { command: ['python3', '-u', '-c', TRIAL, '{{ map.q }}', '{{ map.steps }}', '{{ map.linger }}'] }, {
    after: [report],
    map: { expand: TRIALS, maxActive: TRIALS.length, earlyStopping: { metric: 'score', mode: 'max', minSteps: 3, minTrials: 3 } },
  });
  // Not a process or pod: it gets no MLflow run of its own.
  p.task('count', count, {}, { after: [report] });
});

const failing = pipeline({ id: 'tracked_failing', mlflow: { experiment: 'tracked-failing' } }, (p) => {
  p.process('flaky', { command: ['sh', '-c', 'echo broken >&2; exit 3'] }, { retries: 1, retryDelay: '1s' });
});

const waiting = pipeline({ id: 'tracked_cancelled', mlflow: { experiment: 'tracked-cancelled' } }, (p) => {
  p.process('long', { command: ['sleep', '600'] });
});

const untracked = pipeline({ id: 'untracked' }, (p) => {
  p.process('report', { command: ['python3', '-c', 'import os, json; json.dump({"id": os.environ.get("MLFLOW_RUN_ID")}, open(os.environ["TRAINYARD_XCOM_PATH"], "w"))'] });
});

const PIPELINES: Pipeline[] = [tracked, failing, waiting, untracked];

describe('MLflow tracking of runs and tries', { timeout: 180_000 }, () => {
  let mlflow: TestMlflow;
  let client: MlflowClient;
  before(async () => {
    mlflow = await startTestMlflow();
    client = new MlflowClient({ trackingUri: mlflow.url });
  });
  const temporal = useWorkflowWorker(PIPELINES, () => ({
    mlflow: { trackingUri: mlflow.url, links: { temporalUiUrl: 'http://ui.example:8233', apiUrl: 'http://api.example:3000', namespace: 'default' } },
  }));
  after(async () => {
    await mlflow?.stop();
  });

  const runsOf = async (experiment: string, runId: string): Promise<{ parent: Run; tries: Run[] }> => {
    const experimentId = (await client.getExperimentByName(experiment))?.experiment_id;
    assert.ok(experimentId, `no experiment ${experiment}`);
    const all = await client.searchRuns({ experimentIds: [experimentId], filter: tagClause(TRAINYARD_TAGS.runId, runId) });
    const parents = all.filter((r) => tagOf(r, TRAINYARD_TAGS.level) === 'run');
    assert.equal(parents.length, 1, `parent runs: ${parents.length}`);
    return { parent: parents[0] as Run, tries: all.filter((r) => tagOf(r, TRAINYARD_TAGS.level) === 'try') };
  };

  it('gives a run one parent run and each process try and trial a nested run, closed with its outcome', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, tracked, { logicalDate: '2026-06-01T00:00:00Z' });
    assert.equal(error, undefined, error);
    const { parent, tries } = await runsOf('tracked-2026-06-01', state.run.runId);
    assert.deepEqual(state.run.mlflow, { experimentId: parent.info.experiment_id, runId: parent.info.run_id });

    // The parent: who, which version, when, and the links back.
    assert.equal(parent.info.status, 'FINISHED');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.pipelineId), 'tracked');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.pipelineVersion), tracked.version);
    assert.equal(tagOf(parent, TRAINYARD_TAGS.logicalDate), '2026-06-01T00:00:00.000Z');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.workflowId), state.run.runId);
    assert.equal(tagOf(parent, TRAINYARD_TAGS.temporalUrl), `http://ui.example:8233/namespaces/default/workflows/${encodeURIComponent(state.run.runId)}`);
    assert.equal(tagOf(parent, TRAINYARD_TAGS.apiUrl), `http://api.example:3000/runs/${encodeURIComponent(state.run.runId)}`);
    assert.deepEqual(parent.data.params?.map((p) => [p.key, p.value]).sort(), [['label', 'daily'], ['n', '3']]);
    assert.equal(tagOf(parent, TRAINYARD_TAGS.state), 'success');

    // One run per try: report, and the four trials; the task step has none.
    assert.deepEqual(tries.map((r) => tagOf(r, TRAINYARD_TAGS.stepId)).sort(), ['report', 'trial', 'trial', 'trial', 'trial']);
    for (const run of tries) assert.equal(tagOf(run, TRAINYARD_TAGS.parentRun), parent.info.run_id);

    // The user's code logged into the try's own run: the ids it saw are the ones MLflow has.
    const report = tries.find((r) => tagOf(r, TRAINYARD_TAGS.stepId) === 'report') as Run;
    const seen = step(state, 'report').output as Record<string, string>;
    assert.equal(seen.MLFLOW_RUN_ID, report.info.run_id);
    assert.equal(seen.started, report.info.run_id, 'mlflow.start_run() resumed the try\'s run');
    assert.equal(seen.MLFLOW_PARENT_RUN_ID, parent.info.run_id);
    assert.equal(seen.MLFLOW_EXPERIMENT_ID, parent.info.experiment_id);
    assert.equal(seen.MLFLOW_TRACKING_URI, mlflow.url);
    const metrics = Object.fromEntries((report.data.metrics ?? []).map((m) => [m.key, m.value]));
    assert.equal(metrics.inner, 1.5);
    // Trainyard's own numbers: the XCom's (nested ones by path; text skipped) and the duration.
    assert.equal(metrics['xcom.rows'], 3);
    assert.equal(metrics['xcom.score.f1'], 0.75);
    assert.equal(metrics['xcom.label'], undefined);
    assert.ok((metrics['trainyard.duration_s'] ?? 0) > 0, JSON.stringify(metrics));
    assert.equal(report.info.status, 'FINISHED');
    assert.equal(tagOf(report, TRAINYARD_TAGS.try), `${state.run.runId} report#1`);

    // Trials: tagged with index and values; the pruned one KILLED with the rule's reason.
    const map = step(state, 'trial').map;
    assert.deepEqual(map?.prunedIndices?.map((p) => p.index), [2]);
    const trials = tries.filter((r) => tagOf(r, TRAINYARD_TAGS.stepId) === 'trial');
    assert.deepEqual(trials.map((r) => tagOf(r, TRAINYARD_TAGS.mapIndex)).sort(), ['0', '1', '2', '3']);
    for (const run of trials) {
      const index = Number(tagOf(run, TRAINYARD_TAGS.mapIndex));
      const values = TRIALS[index] as (typeof TRIALS)[number];
      assert.equal(tagOf(run, `${TRAINYARD_TAGS.mapValuePrefix}q`), String(values.q));
      assert.equal(tagOf(run, `${TRAINYARD_TAGS.mapValuePrefix}steps`), String(values.steps));
      if (index === 2) {
        assert.equal(run.info.status, 'KILLED');
        assert.equal(tagOf(run, TRAINYARD_TAGS.state), 'pruned');
        assert.match(tagOf(run, TRAINYARD_TAGS.reason) ?? '', /^pruned: .*median/, JSON.stringify(run.data.tags));
      } else {
        assert.equal(run.info.status, 'FINISHED');
        assert.equal(run.data.metrics?.find((m) => m.key === 'xcom.accuracy')?.value, values.q);
      }
    }
  });

  it('closes each failed try FAILED with its error, and the run FAILED', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, failing);
    assert.match(error ?? '', /run failed/);
    const { parent, tries } = await runsOf('tracked-failing', state.run.runId);
    assert.equal(parent.info.status, 'FAILED');
    assert.match(tagOf(parent, TRAINYARD_TAGS.reason) ?? '', /flaky/);
    assert.deepEqual(tries.map((r) => tagOf(r, TRAINYARD_TAGS.attempt)).sort(), ['1', '2']);
    for (const run of tries) {
      assert.equal(run.info.status, 'FAILED');
      assert.match(tagOf(run, TRAINYARD_TAGS.reason) ?? '', /exit(ed)? .*3/);
    }
  });

  it('closes a cancelled run and its running try KILLED', async () => {
    const handle = await startRun(temporal.env, temporal.worker, waiting);
    await eventually('the try to get its MLflow run', async () => {
      const found = await client.getExperimentByName('tracked-cancelled');
      if (!found) return undefined;
      const filter = `${tagClause(TRAINYARD_TAGS.runId, handle.workflowId)} and ${tagClause(TRAINYARD_TAGS.level, 'try')}`;
      return (await client.searchRuns({ experimentIds: [found.experiment_id], filter })).length > 0 ? true : undefined;
    }, 30_000);
    await handle.cancel();
    await assert.rejects(handle.result());
    const { parent, tries } = await runsOf('tracked-cancelled', handle.workflowId);
    assert.equal(parent.info.status, 'KILLED');
    assert.equal(tagOf(parent, TRAINYARD_TAGS.state), 'cancelled');
    assert.equal(tries.length, 1);
    assert.equal(tries[0]?.info.status, 'KILLED');
    assert.equal(tagOf(tries[0], TRAINYARD_TAGS.reason), 'run cancelled');
  });

  it('leaves a pipeline without the mlflow option untracked: its processes see no MLflow run', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, untracked);
    assert.equal(error, undefined, error);
    assert.equal(state.run.mlflow, undefined);
    assert.deepEqual(step(state, 'report').output, { id: null });
  });
});
