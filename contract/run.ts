/**
 * The pipelineRun workflow's public surface: its name, input, live state, the
 * signals it takes and the query that reads it. Plain JSON interfaces, evolved
 * by adding optional fields.
 *
 *   const handle = await client.workflow.start(PIPELINE_RUN_WORKFLOW, { taskQueue, workflowId, args: [input] });
 *   const state: RunState = await handle.query(runStateQuery);
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Json, PipelineSpec, RunRef, Runner, StepKind, StepState, TriggerRule } from '../pipeline';
import type { ApprovalState } from './approval';

export const PIPELINE_RUN_WORKFLOW = 'pipelineRun';

export interface PipelineRunInput {
  spec: PipelineSpec;
  /** The spec's hash as the caller computed it; checked against the spec, so history records the exact version. */
  pipelineVersion?: string;
  /** Overrides of the spec's param defaults. */
  params?: Record<string, Json>;
  /** ISO-8601; defaults to the schedule's time for scheduled runs, else the start time. */
  logicalDate?: string;
  /**
   * How container steps run. Callers resolve it with `resolveRunner` (request, pipeline,
   * deployment default); when absent the run uses the pipeline's, else `local`.
   */
  runner?: Runner;
  /**
   * Who started the run: a person's identity (the API's `startedBy`), or `schedule:<scheduleId>`
   * for a scheduled run. The run's starter may not approve its approval steps.
   */
  startedBy?: string;
}

/** One step's tries as they move along; shared by a run's steps and a mapped step's trials. */
export interface TryProgress {
  state: StepState | 'pending' | 'pruned';
  /** The current or last try, 1-based; 0 before the first. */
  attempt: number;
  maxAttempts: number;
  startedAt?: string;
  endedAt?: string;
  error?: string;
  /** For a waiting sensor: what it saw last and when it looks again. */
  note?: string;
}

export interface StepRunState extends TryProgress {
  id: string;
  kind: StepKind;
  group?: string;
  upstream: string[];
  triggerRule: TriggerRule;
  state: StepState;
  /** The step's XCom; absent when it produced none. */
  output?: Json;
  /** For branch steps: the followers it chose. */
  chosen?: string[];
  /** For mapped steps: the fan-out, filled in as it runs and settles. */
  map?: MapStepSummary;
  /** For approval steps: what is waiting for a decision (model, version, deadline, details), and the decision. */
  approval?: ApprovalState;
}

/** A mapped step at a glance; each index's own state is the trial workflow's `trialState`. */
export interface MapStepSummary {
  /** How many indices the map expanded to. */
  total: number;
  /** The coordinator workflow: its `mapState` query lists every index live. */
  coordinatorId: string;
  succeeded?: number;
  failed?: number;
  pruned?: number;
  /** Most indices that ran at once. */
  peakActive?: number;
  /** Failed indices with their reasons (the first 100). */
  failures?: { index: number; error: string }[];
  /** Pruned indices with the stopping rule's reason (the first 100). */
  prunedIndices?: { index: number; reason: string }[];
}

export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled';

export interface RunState {
  /** Which run this is: pipeline, version, id, logical date, params and runner. */
  run: RunRef;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  steps: StepRunState[];
  /** Steps that failed, in the order they did. */
  failedSteps: string[];
  summary?: string;
}

/** An object landed in S3 (from POST /events/s3): waiting s3Key sensors on its bucket look again at once. */
export interface S3ObjectEvent {
  bucket: string;
  key: string;
  size?: number;
  etag?: string;
  /** The notification's event name, e.g. `ObjectCreated:Put`. */
  eventName?: string;
}

export const s3ObjectEventSignal = defineSignal<[S3ObjectEvent]>('s3ObjectEvent');

/** The live state of a run: every step, its attempt, times and XCom. */
export const runStateQuery = defineQuery<RunState>('runState');
