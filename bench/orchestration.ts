/**
 * Orchestration overhead: a 20-step chain of no-op task steps, run several times
 * on a real Temporal dev server. For each link, the gap between the upstream's
 * ActivityTaskCompleted and the downstream's ActivityTaskStarted in history is
 * what Trainyard (and Temporal) add per step.
 *
 *   node dist/bench/orchestration.js [--runs 10]
 */
import { randomUUID } from 'node:crypto';
import { temporal } from '@temporalio/proto';
import { defineTask, pipeline } from '../pipeline';
import { PIPELINE_RUN_WORKFLOW } from '../contract';
import { startDevServer, startWorker } from '../harness';
import { eventMillis, percentile, writeResults } from './results';

const EventType = temporal.api.enums.v1.EventType;
const STEPS = 20;

const nothing = defineTask('bench.nothing', () => undefined);
const chain = pipeline({ id: 'bench_chain' }, (p) => {
  let previous: string | undefined;
  for (let i = 0; i < STEPS; i++) {
    const id = `step_${String(i).padStart(2, '0')}`;
    p.task(id, nothing, null, previous ? { after: [previous] } : {});
    previous = id;
  }
});

async function main(): Promise<void> {
  const runsFlag = process.argv.indexOf('--runs');
  const runs = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 10;
  const env = await startDevServer();
  const worker = await startWorker(env, [chain]);
  const gaps: number[] = [];
  const walls: number[] = [];
  try {
    for (let r = 0; r <= runs; r++) {
      const started = performance.now();
      const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
        taskQueue: worker.taskQueue,
        workflowId: `bench-${randomUUID()}`,
        args: [{ spec: chain.spec }],
      });
      await handle.result();
      const wall = performance.now() - started;
      if (r === 0) continue; // warm-up
      walls.push(wall);
      const events = (await handle.fetchHistory()).events ?? [];
      const stepOf = new Map<string, string>();
      const completedAt = new Map<string, number>();
      const startedAt = new Map<string, number>();
      for (const e of events) {
        if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
          stepOf.set(String(e.eventId), (e.activityTaskScheduledEventAttributes?.activityId ?? '').split('#')[0] ?? '');
        } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
          startedAt.set(stepOf.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId)) ?? '', eventMillis(e.eventTime));
        } else if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED) {
          completedAt.set(stepOf.get(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)) ?? '', eventMillis(e.eventTime));
        }
      }
      const ids = chain.spec.steps.map((s) => s.id);
      for (let i = 1; i < ids.length; i++) {
        const done = completedAt.get(ids[i - 1] ?? '');
        const next = startedAt.get(ids[i] ?? '');
        if (done === undefined || next === undefined) throw new Error(`history of run ${r} lacks step ${ids[i] ?? ''}`);
        gaps.push(next - done);
      }
    }
  } finally {
    await worker.stop();
    await env.teardown();
  }
  const figures = {
    step_overhead_p50_ms: percentile(gaps, 50),
    step_overhead_p95_ms: percentile(gaps, 95),
    step_overhead_samples: gaps.length,
    chain_20_steps_wall_p50_ms: percentile(walls, 50),
  };
  await writeResults(figures, { step_overhead_p50_ms: { target: 100, better: 'lower' } });
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
