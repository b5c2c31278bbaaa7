/**
 * Early stopping of a mapped pod step on a real API server with KWOK nodes:
 * no container runs there, so each index's namespace decides which simulated
 * metric curve its container logs (scripts/local-cluster.ts), and the trials
 * logging the low curve are pruned and their pods deleted mid-run.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type V1Pod, Watch } from '@kubernetes/client-node';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LABELS, labelValue } from '../../activities/kubernetes/naming';
import { pipeline } from '../../pipeline';
import { METRIC_NAMESPACES, SIMULATED_METRIC } from '../../scripts/local-cluster';
import { type TestCluster, listPods, startTestCluster } from '../support/kubernetes';
import { type TestWorker, eventually, runToEnd, startDevServer, startWorker, step } from '../support/temporal';

const HIGH = { ns: METRIC_NAMESPACES.high, runFor: '2s' };
// Far longer than the test takes: a low trial's pod can only be gone because it was pruned.
const LOW = { ns: METRIC_NAMESPACES.low, runFor: '60s' };
const TRIALS = [HIGH, LOW, HIGH, HIGH, LOW, HIGH];
const HIGH_INDICES = [0, 2, 3, 5];
const LOW_INDICES = [1, 4];

const stopping = pipeline({ id: 'map_stop_pods' }, (p) => {
  p.pod(
    'trial',
    {
      image: 'trainer:1',
      cmds: ['python', 'train.py'],
      namespace: '{{ map.ns }}',
      annotations: {
        'sim.trainyard.io/run-for': '{{ map.runFor }}',
        'sim.trainyard.io/message': '{"index": {{ map_index }}, "namespace": "{{ map.ns }}"}',
      },
    },
    { map: { expand: TRIALS, maxActive: TRIALS.length, earlyStopping: { metric: SIMULATED_METRIC, mode: 'max', minSteps: 3, minTrials: 3 } } },
  );
});

/** What a watch saw of one pod: the phases it went through, and its phase when it was deleted. */
interface Seen {
  namespace: string;
  mapIndex: number;
  phases: string[];
  deletedIn?: string;
}

describe('early stopping of mapped pods', { timeout: 180_000 }, () => {
  let env: TestWorkflowEnvironment;
  let cluster: TestCluster;
  let worker: TestWorker;
  before(async () => {
    [env, cluster] = await Promise.all([startDevServer(), startTestCluster()]);
    worker = await startWorker(env, [stopping], { kubeconfigPath: cluster.kubeconfigPath });
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([env?.teardown(), cluster?.stop()]);
  });

  it('prunes the trials whose pods log low metrics and deletes their pods while they run', async () => {
    const runId = `map-stop-pods-${randomUUID()}`;
    const selector = `${LABELS.runId}=${labelValue(runId)}`;
    // Every change to the run's pods, in every namespace, from before the first is created.
    const seen = new Map<string, Seen>();
    let watchEnded: unknown;
    const watch = await new Watch(cluster.kc).watch(
      '/api/v1/pods',
      { labelSelector: selector },
      (type: string, pod: V1Pod) => {
        // An ERROR event carries a Status, not a pod: the watch can no longer be trusted to have seen everything.
        if (type === 'ERROR') watchEnded ??= pod;
        if (type !== 'ADDED' && type !== 'MODIFIED' && type !== 'DELETED') return;
        const name = pod.metadata?.name ?? '';
        const record = seen.get(name) ?? { namespace: pod.metadata?.namespace ?? '', mapIndex: Number(pod.metadata?.labels?.[LABELS.mapIndex]), phases: [] };
        seen.set(name, record);
        const phase = pod.status?.phase ?? 'Unknown';
        if (record.phases.at(-1) !== phase) record.phases.push(phase);
        if (type === 'DELETED') record.deletedIn = phase;
      },
      (err: unknown) => (watchEnded ??= err ?? 'closed by the server'),
    );
    const stopWatch = (): void => {
      watchEnded ??= 'stopped by the test';
      watch.abort();
    };
    try {
      const { state, error } = await runToEnd(env, worker, stopping, { runner: 'kubernetes', workflowId: runId });
      assert.equal(error, undefined, error);
      assert.equal(state.run.runId, runId);

      // The pruned trials' pods are gone from the API server by the time the run has ended.
      assert.deepEqual((await listPods(cluster, METRIC_NAMESPACES.low, selector)).map((p) => p.metadata?.name), [], 'pruned pods left behind');

      const trial = step(state, 'trial');
      assert.equal(trial.state, 'success');
      assert.deepEqual((trial.map?.prunedIndices ?? []).map((p) => p.index), LOW_INDICES, JSON.stringify(trial.map));
      for (const pruned of trial.map?.prunedIndices ?? []) assert.match(pruned.reason, new RegExp(`${SIMULATED_METRIC} best [\\d.]+ by step \\d+ is below the median`));
      assert.equal(trial.map?.succeeded, HIGH_INDICES.length);
      assert.equal(trial.map?.failed, 0, 'pruned trials are not failures');
      assert.equal(trial.map?.pruned, LOW_INDICES.length);
      // The high trials' XCom, from their termination messages, in index order.
      assert.deepEqual(trial.output, HIGH_INDICES.map((index) => ({ index, namespace: METRIC_NAMESPACES.high })));
      for (const index of LOW_INDICES) {
        const { status } = await env.client.workflow.getHandle(`${runId}/trial/${index}`).describe();
        assert.equal(status.name, 'CANCELLED', `trial ${index}`);
      }

      // The test's own watch may trail the worker's by a moment, and a succeeded pod's deletion is not
      // waited for (delete_pod asks for it as its try ends): wait until the watch has seen every deletion.
      await eventually('the watch to see every pod of the run deleted', () =>
        seen.size === TRIALS.length && [...seen.values()].every((s) => s.deletedIn !== undefined) ? true : undefined);
      assert.equal(watchEnded, undefined, 'the watch ran for the whole run');
    } finally {
      stopWatch();
    }

    // What the watch saw of each pod: the low ones deleted while still running (they would have
    // run for a minute), the high ones only once they had succeeded.
    const byIndex = new Map([...seen.values()].map((s) => [s.mapIndex, s]));
    assert.deepEqual([...byIndex.keys()].sort((a, b) => a - b), TRIALS.map((_, i) => i), 'one pod per index');
    TRIALS.forEach((t, index) => {
      const pod = byIndex.get(index);
      const history = pod?.phases.join(' -> ');
      assert.equal(pod?.namespace, t.ns, `index ${index}'s namespace`);
      if (LOW_INDICES.includes(index)) {
        assert.ok(pod?.phases.includes('Running'), `index ${index} ran: ${history}`);
        assert.equal(pod?.deletedIn, 'Running', `index ${index} was deleted mid-run: ${history}`);
      } else {
        assert.equal(pod?.deletedIn, 'Succeeded', `index ${index} ran to its end: ${history}`);
      }
    });
    for (const namespace of Object.values(METRIC_NAMESPACES)) {
      assert.deepEqual((await listPods(cluster, namespace, selector)).map((p) => p.metadata?.name), [], `pods left in ${namespace}`);
    }
  });
});
