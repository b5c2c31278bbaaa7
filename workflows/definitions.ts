/**
 * The pipelineRun workflow's public surface: input, result, queries and search
 * attributes. Plain JSON interfaces, evolved by adding optional fields.
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { defineQuery } from '@temporalio/workflow';
import type { Json, PipelineSpec, StepKind, StepState, TriggerRule } from '../pipeline';

export type Runner = 'local' | 'kubernetes';

export interface PipelineRunInput {
  spec: PipelineSpec;
  /** The spec's hash as the caller computed it; checked against the spec, so history records the exact version. */
  pipelineVersion?: string;
  /** Overrides of the spec's param defaults. */
  params?: Record<string, Json>;
  /** ISO-8601; defaults to the schedule's time for scheduled runs, else the start time. */
  logicalDate?: string;
  /** How container steps run. @default 'local' */
  runner?: Runner;
}

export interface StepRunState {
  id: string;
  kind: StepKind;
  group?: string;
  upstream: string[];
  triggerRule: TriggerRule;
  state: StepState;
  /** The current or last try, 1-based; 0 before the first. */
  attempt: number;
  maxAttempts: number;
  startedAt?: string;
  endedAt?: string;
  /** The step's XCom; absent when it produced none. */
  output?: Json;
  error?: string;
  /** For branch steps: the followers it chose. */
  chosen?: string[];
}

export type RunStatus = 'running' | 'success' | 'failed' | 'cancelled';

export interface RunState {
  pipelineId: string;
  pipelineVersion: string;
  runId: string;
  logicalDate: string;
  runner: Runner;
  params: Record<string, Json>;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  steps: StepRunState[];
  /** Steps that failed, in the order they did. */
  failedSteps: string[];
  summary?: string;
}

/** The live state of a run: every step, its attempt, times and XCom. */
export const runStateQuery = defineQuery<RunState>('runState');

export const searchAttributes = {
  pipelineId: defineSearchAttributeKey('TrainyardPipelineId', 'KEYWORD'),
  pipelineVersion: defineSearchAttributeKey('TrainyardPipelineVersion', 'KEYWORD'),
  runState: defineSearchAttributeKey('TrainyardRunState', 'KEYWORD'),
  logicalDate: defineSearchAttributeKey('TrainyardLogicalDate', 'DATETIME'),
} as const;

/** `NAME=Type` pairs for `temporal server start-dev --search-attribute`. */
export const SEARCH_ATTRIBUTE_FLAGS = ['TrainyardPipelineId=Keyword', 'TrainyardPipelineVersion=Keyword', 'TrainyardRunState=Keyword', 'TrainyardLogicalDate=Datetime'];

export const PIPELINE_RUN_WORKFLOW = 'pipelineRun';
