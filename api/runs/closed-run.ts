/**
 * A closed run's state without a worker: a succeeded run's result, a failed run's
 * failure details, a cancelled run's `recordRunEnd` input in history. A run that
 * ended another way (terminated, timed out) or before runs recorded their state
 * gets the steps of its input, each as `queued`, and a summary saying so.
 */
import { type Client, type WorkflowExecutionStatusName, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { LoadedDataConverter } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import { type PipelineRunInput, type RunState, type RunStatus, failureOf } from '../../contract';

type Closed = Exclude<WorkflowExecutionStatusName, 'RUNNING'>;

function stateIn(details: unknown): RunState | undefined {
  const state = (details as { state?: RunState } | undefined)?.state;
  return state && typeof state === 'object' && Array.isArray(state.steps) ? state : undefined;
}

async function decoded(converter: LoadedDataConverter, payloads: temporal.api.common.v1.IPayloads | null | undefined): Promise<unknown[]> {
  return decodeArrayFromPayloads(converter, payloads?.payloads ?? []);
}

/** The state the closed run left in its result or history. */
export async function closedRunState(client: Client, handle: WorkflowHandle, status: Closed): Promise<RunState> {
  if (status === 'COMPLETED') return (await handle.result()) as RunState;
  if (status === 'FAILED') {
    try {
      await handle.result();
    } catch (err) {
      const found = err instanceof WorkflowFailedError ? failureOf(err) : undefined;
      const state = stateIn(found?.failure.details?.[0]);
      if (state) return state;
    }
  }
  const converter = client.options.loadedDataConverter;
  const history = await handle.fetchHistory();
  const events = history.events ?? [];
  if (status === 'CANCELLED') {
    for (const event of [...events].reverse()) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled?.activityType?.name !== 'recordRunEnd') continue;
      const [state] = await decoded(converter, scheduled.input);
      if (stateIn({ state })) return state as RunState;
    }
  }
  return fromInput(events, converter, status);
}

const STATUS_OF: Partial<Record<Closed, RunStatus>> = { COMPLETED: 'success', CANCELLED: 'cancelled' };

/** A state from the run's input alone: its steps, none known to have run. */
async function fromInput(events: temporal.api.history.v1.IHistoryEvent[], converter: LoadedDataConverter, status: Closed): Promise<RunState> {
  const first = events[0];
  const last = events[events.length - 1];
  const [input] = (await decoded(converter, first?.workflowExecutionStartedEventAttributes?.input)) as [PipelineRunInput | undefined];
  const time = (e: temporal.api.history.v1.IHistoryEvent | undefined): string =>
    new Date(Number(e?.eventTime?.seconds ?? 0) * 1000 + Math.floor((e?.eventTime?.nanos ?? 0) / 1e6)).toISOString();
  const spec = input?.spec;
  return {
    run: {
      pipelineId: spec?.id ?? '',
      pipelineVersion: input?.pipelineVersion ?? '',
      runId: first?.workflowExecutionStartedEventAttributes?.workflowId ?? '',
      logicalDate: input?.logicalDate ?? time(first),
      params: input?.params ?? {},
      runner: input?.runner ?? 'local',
      ...(input?.startedBy !== undefined ? { startedBy: input.startedBy } : {}),
    },
    status: STATUS_OF[status] ?? 'failed',
    startedAt: time(first),
    endedAt: time(last),
    steps: (spec?.steps ?? []).map((s) => ({
      id: s.id,
      kind: s.kind,
      ...(s.group !== undefined ? { group: s.group } : {}),
      upstream: s.upstream,
      triggerRule: s.triggerRule,
      state: 'queued' as const,
      attempt: 0,
      maxAttempts: (s.retry?.retries ?? 0) + 1,
    })),
    failedSteps: [],
    summary: `run ${status.toLowerCase().replace('_', ' ')}; it left no record of its steps' states`,
  };
}
