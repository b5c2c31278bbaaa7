/**
 * Driving runs in tests: start one, run one to its end, read a step's state.
 * Re-exports the harness's servers and workers, so a test imports one module.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Pipeline } from '../../pipeline';
import { PIPELINE_RUN_WORKFLOW, type PipelineRunInput, type RunState, runStateQuery } from '../../contract';
import type { TestWorker } from '../../harness';

export { type TestWorker, codecClient, eventually, startDevServer, startTimeSkippingServer, startWorker, tempStateDir } from '../../harness';

/** Starts a pipeline run, with the worker's client (so with its payload codec). */
export async function startRun(
  _env: TestWorkflowEnvironment,
  worker: TestWorker,
  pipeline: Pipeline,
  input: Omit<PipelineRunInput, 'spec'> & { workflowId?: string } = {},
): Promise<WorkflowHandle> {
  const { workflowId, ...rest } = input;
  return worker.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
    taskQueue: worker.taskQueue,
    workflowId: workflowId ?? `${pipeline.spec.id}-${randomUUID()}`,
    args: [{ spec: pipeline.spec, pipelineVersion: pipeline.version, logicalDate: '2026-03-01T00:00:00Z', ...rest } satisfies PipelineRunInput],
  });
}

export interface Finished {
  state: RunState;
  /** The run's failure message when it failed. */
  error?: string;
}

/** Runs a pipeline to the end and returns its final state, whether it succeeded or failed. */
export async function runToEnd(
  env: TestWorkflowEnvironment,
  worker: TestWorker,
  pipeline: Pipeline,
  input: Omit<PipelineRunInput, 'spec'> & { workflowId?: string } = {},
): Promise<Finished> {
  const handle = await startRun(env, worker, pipeline, input);
  let error: string | undefined;
  try {
    await handle.result();
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    error = err.cause?.message ?? err.message;
  }
  const state = await handle.query(runStateQuery);
  return error === undefined ? { state } : { state, error };
}

/** The state of one step; fails the test if the step does not exist. */
export function step(state: RunState, id: string): RunState['steps'][number] {
  const found = state.steps.find((s) => s.id === id);
  if (!found) throw new Error(`no step '${id}' in run ${state.run.runId}`);
  return found;
}

/** Map of step id -> state, for compact assertions. */
export function states(state: RunState): Record<string, string> {
  return Object.fromEntries(state.steps.map((s) => [s.id, s.state]));
}
