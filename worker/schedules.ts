/**
 * One Temporal Schedule per scheduled pipeline, created or updated when the
 * worker starts, so the schedule always runs the pipeline version the worker has.
 */
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import { type Pipeline, type Runner, SCHEDULE_PRESETS, resolveRunner } from '../pipeline';
import { PIPELINE_RUN_WORKFLOW, type PipelineRunInput, searchAttributes } from '../contract';

export const scheduleIdOf = (pipelineId: string): string => `trainyard-${pipelineId}`;

/**
 * The schedule of a pipeline; its runs use the pipeline's runner, else the deployment's default (`defaultRunner`),
 * and are started by `schedule:<scheduleId>` (no person, so anyone may approve their approval steps).
 */
export function scheduleOptions(pipeline: Pipeline, taskQueue: string, defaultRunner?: Runner): ScheduleOptions {
  const { spec } = pipeline;
  const cron = SCHEDULE_PRESETS[spec.schedule ?? ''] ?? spec.schedule ?? '';
  const scheduleId = scheduleIdOf(spec.id);
  const input: PipelineRunInput = {
    spec,
    pipelineVersion: pipeline.version,
    runner: resolveRunner({ pipeline: spec.runner, deployment: defaultRunner }),
    startedBy: `schedule:${scheduleId}`,
  };
  return {
    scheduleId,
    spec: { cronExpressions: [cron] },
    action: {
      type: 'startWorkflow',
      workflowType: PIPELINE_RUN_WORKFLOW,
      workflowId: `${spec.id}-scheduled`,
      taskQueue,
      args: [input],
      typedSearchAttributes: [
        { key: searchAttributes.pipelineId, value: spec.id },
        { key: searchAttributes.pipelineVersion, value: pipeline.version },
      ],
    },
    policies: {
      overlap: spec.maxActiveRuns === 1 ? ScheduleOverlapPolicy.BUFFER_ONE : ScheduleOverlapPolicy.ALLOW_ALL,
      catchupWindow: '1m',
    },
    memo: { pipelineVersion: pipeline.version },
  };
}

/** Creates or updates the schedule of every pipeline that has one; returns their ids. */
export async function ensureSchedules(client: Client, pipelines: Iterable<Pipeline>, taskQueue: string, defaultRunner?: Runner): Promise<string[]> {
  const ids: string[] = [];
  for (const pipeline of pipelines) {
    if (!pipeline.spec.schedule) continue;
    const options = scheduleOptions(pipeline, taskQueue, defaultRunner);
    const handle = client.schedule.getHandle(options.scheduleId);
    try {
      await handle.describe();
      await handle.update((previous) => ({ ...previous, spec: options.spec, action: options.action, policies: { ...previous.policies, ...options.policies } }));
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      try {
        await client.schedule.create(options);
      } catch (createErr) {
        if (!(createErr instanceof ScheduleAlreadyRunning)) throw createErr;
      }
    }
    ids.push(options.scheduleId);
  }
  return ids;
}
