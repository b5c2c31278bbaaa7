/**
 * One Temporal Schedule per scheduled pipeline, created or updated when the
 * worker starts, so the schedule always runs the pipeline version the worker has.
 */
import { type Client, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptions } from '@temporalio/client';
import { MIN_CATCHUP_MS, type Pipeline, type PipelineSpec, type Runner, SCHEDULE_PRESETS, parseDuration, resolveRunner } from '../pipeline';
import { PIPELINE_RUN_WORKFLOW, type PipelineRunInput, searchAttributes } from '../contract';

/** Catch-up when a pipeline sets none: a minute, so a short server blip loses no run. */
const DEFAULT_CATCHUP_MS = 60_000;
/** `catchup: true`: every missed run since the last one taken. */
const CATCHUP_ALL_MS = 100 * 365 * 86_400_000;

/** The catch-up window of a pipeline's `catchup` option, in ms. */
export function catchupWindowOf(catchup: PipelineSpec['catchup']): number {
  if (catchup === undefined) return DEFAULT_CATCHUP_MS;
  if (catchup === true) return CATCHUP_ALL_MS;
  if (catchup === false) return MIN_CATCHUP_MS;
  return parseDuration(catchup) ?? DEFAULT_CATCHUP_MS;
}

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
    spec: {
      cronExpressions: [cron],
      ...(spec.timezone !== undefined ? { timezone: spec.timezone } : {}),
      ...(spec.startDate !== undefined ? { startAt: new Date(spec.startDate) } : {}),
      ...(spec.endDate !== undefined ? { endAt: new Date(spec.endDate) } : {}),
      ...(spec.jitter !== undefined ? { jitter: parseDuration(spec.jitter) ?? 0 } : {}),
    },
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
      catchupWindow: catchupWindowOf(spec.catchup),
    },
    memo: { trainyard: true, pipelineVersion: pipeline.version },
  };
}

/**
 * Deletes the schedule of a pipeline that no longer has one, when it is Trainyard's (its memo says so;
 * older ones only carry pipelineVersion) and starts runs on this task queue, so another deployment's stays.
 */
async function deleteStaleSchedule(client: Client, pipelineId: string, taskQueue: string): Promise<void> {
  const handle = client.schedule.getHandle(scheduleIdOf(pipelineId));
  try {
    const { memo, action } = await handle.describe();
    const ours = memo?.trainyard === true || typeof memo?.pipelineVersion === 'string';
    if (ours && action.type === 'startWorkflow' && action.taskQueue === taskQueue) await handle.delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
}

/** Creates or updates the schedule of every pipeline that has one, deletes those of pipelines that dropped theirs; returns the ids kept. */
export async function ensureSchedules(client: Client, pipelines: Iterable<Pipeline>, taskQueue: string, defaultRunner?: Runner): Promise<string[]> {
  const ids: string[] = [];
  for (const pipeline of pipelines) {
    if (!pipeline.spec.schedule) {
      await deleteStaleSchedule(client, pipeline.spec.id, taskQueue);
      continue;
    }
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
