/**
 * Pod benchmarks on the local cluster (real API server, KWOK nodes):
 * - pod_launch_p50_ms / p95: a pod step's try starting (ActivityTaskStarted in
 *   history) to the API server acknowledging its pod (the worker logs "pod ...
 *   created" when the create call returns), over 200 pods run 20 at a time,
 *   after a warm-up wave of 20 pods that opens the worker's connection pool;
 * - pod_launch_cold_max_ms: the slowest launch of that warm-up wave (20 pods at
 *   once on a worker that has made no API call yet);
 * - pods_1024_s: wall time for a run of 1,024 pod steps, at most 128 pods at once,
 *   from start to the last pod completed.
 *
 *   node dist/bench/pods.js
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { pipeline } from '../pipeline';
import { startLocalCluster } from '../scripts/local-cluster';
import { DefaultLogger } from '@temporalio/worker';
import { startDevServer, startWorker, useLogger } from '../harness';
import { PIPELINE_RUN_WORKFLOW } from '../contract';
import { eventMillis, percentile, writeResults } from './results';

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

const warmup = pipeline({ id: 'bench_pod_warmup' }, (p) => {
  for (let i = 0; i < 20; i++) p.pod(`w${i}`, { image: 'bench:1', cmds: ['true'], annotations: quick });
});

const wide = pipeline({ id: 'bench_pods_1024' }, (p) => {
  for (let i = 0; i < 1024; i++) p.pod(`p${i}`, { image: 'bench:1', cmds: ['true'], annotations: quick });
});

async function main(): Promise<void> {
  const binDir = process.env.TRAINYARD_KUBE_BIN;
  if (!binDir) throw new Error('TRAINYARD_KUBE_BIN is not set; run npm run bench');
  const createdAt = new Map<string, number>();
  useLogger(new DefaultLogger('INFO', ({ message }) => {
    const match = /^\[\S+ (\S+)#1\] pod \S+ created$/.exec(message);
    if (match?.[1] && !createdAt.has(match[1])) createdAt.set(match[1], Date.now());
  }));
  const [env, cluster] = await Promise.all([startDevServer(), startLocalCluster({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-bench-kube-')), binDir })]);

  const worker = await startWorker(env, [warmup, launches, wide], { kubeconfigPath: cluster.kubeconfigPath, maxConcurrentTries: 128 });
  /** Runs a pipeline on Kubernetes; per try, ms from ActivityTaskStarted to the worker's "created". */
  const launchesOf = async (spec: typeof launches.spec): Promise<number[]> => {
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: worker.taskQueue,
      workflowId: `bench-launch-${randomUUID()}`,
      args: [{ spec, runner: 'kubernetes' }],
    });
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const stepOf = new Map<string, string>();
    const gaps: number[] = [];
    for (const e of events) {
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        stepOf.set(String(e.eventId), (e.activityTaskScheduledEventAttributes?.activityId ?? '').split('#')[0] ?? '');
      } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
        const step = stepOf.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '';
        const created = createdAt.get(step);
        if (created !== undefined) gaps.push(created - eventMillis(e.eventTime));
      }
    }
    return gaps;
  };
  try {
    const cold = await launchesOf(warmup.spec);
    const gaps = await launchesOf(launches.spec);
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
        pod_launch_cold_max_ms: Math.round(Math.max(...cold) * 10) / 10,
        pods_1024_s: Math.round(seconds * 10) / 10,
      },
      { pod_launch_p95_ms: { target: 200, better: 'lower' }, pods_1024_s: { target: 60, better: 'lower' } },
    );
  } finally {
    await worker.stop();
    await Promise.all([env.teardown(), cluster.stop()]);
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
