/**
 * Runs a mapped step of N no-op indices and measures what a wide fan-out costs:
 * wall time and the history length of every workflow involved (the run, each run
 * of the coordinator across continue-as-new, every trial), from the server's
 * visibility records. Shared by the fan-out tests and `npm run bench`.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type Pipeline, defineTask, pipeline } from '../pipeline';
import { PIPELINE_RUN_WORKFLOW, type RunState } from '../contract';
import type { TestWorker } from './worker';

const nothing = defineTask('fanout.nothing', () => undefined);

/** A pipeline whose one step maps a no-op task over `n` indices (a product of up to three lists). */
export function fanoutPipeline(n: number, maxActive?: number): Pipeline {
  return pipeline({ id: `fanout_${n}` }, (p) => {
    p.task('trial', nothing, null, {
      map: { expand: { i: Array.from({ length: n }, (_, i) => i) }, maxMapLength: n, ...(maxActive ? { maxActive } : {}) },
    });
  });
}

export interface FanoutFigures {
  wallSeconds: number;
  /** History length of the run workflow itself. */
  runEvents: number;
  /** Each coordinator run's history length (one per continue-as-new). */
  coordinatorEvents: number[];
  trials: number;
  maxTrialEvents: number;
  /** The longest history among all of them. */
  maxEvents: number;
  /** The most children any one workflow had running at once (the coordinator's peak). */
  peakActive: number;
  state: RunState;
}

async function listAll(env: TestWorkflowEnvironment, query: string): Promise<{ workflowId: string; historyLength: number }[]> {
  const found: { workflowId: string; historyLength: number }[] = [];
  for await (const w of env.client.workflow.list({ query })) found.push({ workflowId: w.workflowId, historyLength: w.historyLength });
  return found;
}

export async function runFanout(env: TestWorkflowEnvironment, worker: TestWorker, pipe: Pipeline): Promise<FanoutFigures> {
  const started = performance.now();
  const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: `${pipe.spec.id}-${randomUUID()}`,
    args: [{ spec: pipe.spec }],
  });
  const state = (await handle.result()) as RunState;
  const wallSeconds = (performance.now() - started) / 1000;
  const runEvents = (await handle.fetchHistory()).events?.length ?? 0;
  const step = state.steps.find((s) => s.id === 'trial');
  const total = step?.map?.total ?? 0;
  // Visibility lags the server's own state a little: poll until every trial is there.
  const deadline = Date.now() + 60_000;
  let trials: { workflowId: string; historyLength: number }[] = [];
  let coordinators: { workflowId: string; historyLength: number }[] = [];
  for (;;) {
    trials = await listAll(env, `TrainyardParentRunId = '${state.run.runId}' AND TrainyardMapIndex >= 0 AND ExecutionStatus != 'Running'`);
    coordinators = await listAll(env, `WorkflowId = '${state.run.runId}/trial'`);
    if ((trials.length >= total && coordinators.every((c) => c.historyLength > 0)) || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const maxTrialEvents = Math.max(0, ...trials.map((t) => t.historyLength));
  const coordinatorEvents = coordinators.map((c) => c.historyLength);
  return {
    wallSeconds,
    runEvents,
    coordinatorEvents,
    trials: trials.length,
    maxTrialEvents,
    maxEvents: Math.max(runEvents, maxTrialEvents, ...coordinatorEvents),
    peakActive: step?.map?.peakActive ?? 0,
    state,
  };
}
