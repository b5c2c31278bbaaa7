/**
 * Pod benchmarks on the local cluster (real API server, KWOK nodes):
 * - pod_launch_p50_ms / p95: a pod step's try starting (ActivityTaskStarted in
 *   history) to the API server acknowledging its pod (the worker logs "pod ...
 *   created" when the create call returns), over 200 pods run 20 at a time;
 * - pod_visible_p50_ms / p95: the same start to the pod's ADDED event reaching a
 *   separate watcher (adds the watch's delivery, which this 2-core machine slows);
 * - pods_1024_s: wall time for a run of 1,024 pod steps, at most 128 pods at once,
 *   from start to the last pod completed.
 *
 *   node dist/bench/pods.js
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { temporal } from '@temporalio/proto';
import { pipeline } from '../pipeline';
import { startLocalCluster } from '../scripts/local-cluster';
import { DefaultLogger } from '@temporalio/worker';
import { startDevServer, startWorker, useLogger } from '../test/support/temporal';
import { PIPELINE_RUN_WORKFLOW } from '../workflows/definitions';
import { percentile, writeResults } from './results';

const EventType = temporal.api.enums.v1.EventType;
const quick = { 'sim.trainyard.io/start-after': '50ms', 'sim.trainyard.io/run-for': '100ms' };

const launches = pipeline({ id: 'bench_pod_launch' }, (p) => {
  for (let chain = 0; chain < 20; chain++) {
    let previous: string | undefined;
    for (let i = 0; i < 10; i++) {
      const id = `c${chain}_s${i}`;
      p.pod(id, { image: 'bench:1', cmds: ['true'], annotations: quick }, previous ? { after: [previous] } : {});
      previous = id;
    }
  }
});

const wide = pipeline({ id: 'bench_pods_1024' }, (p) => {
  for (let i = 0; i < 1024; i++) p.pod(`p${i}`, { image: 'bench:1', cmds: ['true'], annotations: quick });
});

function millis(ts: temporal.api.history.v1.IHistoryEvent['eventTime']): number {
  return Number(ts?.seconds ?? 0) * 1000 + (ts?.nanos ?? 0) / 1e6;
}

async function main(): Promise<void> {
  const binDir = process.env.TRAINYARD_KUBE_BIN;
  if (!binDir) throw new Error('TRAINYARD_KUBE_BIN is not set; run npm run bench');
  const createdAt = new Map<string, number>();
  useLogger(new DefaultLogger('INFO', ({ message }) => {
    const match = /^\[\S+ (\S+)#1\] pod \S+ created$/.exec(message);
    if (match?.[1] && !createdAt.has(match[1])) createdAt.set(match[1], Date.now());
  }));
  const [env, cluster] = await Promise.all([startDevServer(), startLocalCluster({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-bench-kube-')), binDir })]);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);

  const seenAt = new Map<string, number>();
  const watch = await new Watch(kc).watch('/api/v1/namespaces/default/pods', { labelSelector: 'app.kubernetes.io/managed-by=trainyard' }, (type: string, pod: V1Pod) => {
    const step = pod.metadata?.labels?.['trainyard.io/step'];
    if (type === 'ADDED' && step && !seenAt.has(step)) seenAt.set(step, Date.now());
  }, () => undefined);

  const worker = await startWorker(env, [launches, wide], { kubeconfigPath: cluster.kubeconfigPath, maxConcurrentTries: 128 });
  try {
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `bench-launch-${randomUUID()}`,
      args: [{ spec: launches.spec, runner: 'kubernetes' }],
    });
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const stepOf = new Map<string, string>();
    const gaps: number[] = [];
    const visible: number[] = [];
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        stepOf.set(String(e.eventId), (e.activityTaskScheduledEventAttributes?.activityId ?? '').split('#')[0] ?? '');
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const step = stepOf.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '';
        const created = createdAt.get(step);
        const seen = seenAt.get(step);
        if (created !== undefined) gaps.push(created - millis(e.eventTime));
        if (seen !== undefined) visible.push(seen - millis(e.eventTime));
      }
    }
    if (gaps.length !== 200) throw new Error(`expected 200 launches, measured ${gaps.length}`);

    const started = performance.now();
    await env.client.workflow.execute(PIPELINE_RUN_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `bench-1024-${randomUUID()}`,
      args: [{ spec: wide.spec, runner: 'kubernetes' }],
    });
    const seconds = (performance.now() - started) / 1000;

    await writeResults(
      {
        pod_launch_p50_ms: percentile(gaps, 50),
        pod_launch_p95_ms: percentile(gaps, 95),
        pod_launch_samples: gaps.length,
        pod_visible_p50_ms: percentile(visible, 50),
        pod_visible_p95_ms: percentile(visible, 95),
        pods_1024_s: Math.round(seconds * 10) / 10,
      },
      { pod_launch_p95_ms: { target: 200, better: 'lower' }, pods_1024_s: { target: 60, better: 'lower' } },
    );
  } finally {
    watch.abort();
    await worker.stop();
    await Promise.all([env.teardown(), cluster.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
