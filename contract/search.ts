/**
 * Trainyard's search attributes and the one builder of visibility queries over
 * them, so every client (sensors, the events endpoint, the API, benchmarks)
 * asks the same question the same way.
 *
 *   client.workflow.list({ query: runsQuery({ pipelineId: 'etl', open: true, logicalDate: { from, to } }) });
 */
import { defineSearchAttributeKey } from '@temporalio/common';
import { PIPELINE_RUN_WORKFLOW } from './run';

export const searchAttributes = {
  pipelineId: defineSearchAttributeKey('TrainyardPipelineId', 'KEYWORD'),
  pipelineVersion: defineSearchAttributeKey('TrainyardPipelineVersion', 'KEYWORD'),
  runState: defineSearchAttributeKey('TrainyardRunState', 'KEYWORD'),
  logicalDate: defineSearchAttributeKey('TrainyardLogicalDate', 'DATETIME'),
  /** On a mapped step's coordinator and trials: the run they belong to. */
  parentRunId: defineSearchAttributeKey('TrainyardParentRunId', 'KEYWORD'),
  /** On a mapped step's coordinator and trials: the step. */
  stepId: defineSearchAttributeKey('TrainyardStepId', 'KEYWORD'),
  /** On a trial: its map index. */
  mapIndex: defineSearchAttributeKey('TrainyardMapIndex', 'INT'),
  /** On a run: true while one of its approval steps waits for a decision, false once none does. */
  awaitingApproval: defineSearchAttributeKey('TrainyardAwaitingApproval', 'BOOL'),
} as const;

/** A value in a visibility query, quoted with `'` escaped. */
function quoted(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export interface RunsQuery {
  /** Workflow type. @default PIPELINE_RUN_WORKFLOW */
  workflowType?: string;
  pipelineId?: string;
  /** Only running (true) or only closed (false) executions. */
  open?: boolean;
  /** Logical dates in [from, to); both ISO-8601 or Date. */
  logicalDate?: { from: Date | string; to: Date | string };
  /** Coordinators and trials of this run. */
  parentRunId?: string;
  /** Trials only (they carry a map index). */
  trialsOnly?: boolean;
  /** Runs that wait (true) or no longer wait (false) for an approval; runs without approval steps match neither. */
  awaitingApproval?: boolean;
}

/**
 * The visibility query for pipeline runs (or, with parentRunId, a run's mapped
 * workflows). Dates are a half-open range: equality on a datetime attribute does
 * not match on every visibility store.
 */
export function runsQuery(q: RunsQuery): string {
  const parts: string[] = [];
  if (q.parentRunId === undefined || q.workflowType !== undefined) parts.push(`WorkflowType = ${quoted(q.workflowType ?? PIPELINE_RUN_WORKFLOW)}`);
  if (q.open !== undefined) parts.push(q.open ? `ExecutionStatus = 'Running'` : `ExecutionStatus != 'Running'`);
  if (q.pipelineId !== undefined) parts.push(`${searchAttributes.pipelineId.name} = ${quoted(q.pipelineId)}`);
  if (q.parentRunId !== undefined) parts.push(`${searchAttributes.parentRunId.name} = ${quoted(q.parentRunId)}`);
  if (q.trialsOnly) parts.push(`${searchAttributes.mapIndex.name} >= 0`);
  if (q.awaitingApproval !== undefined) parts.push(`${searchAttributes.awaitingApproval.name} = ${q.awaitingApproval}`);
  if (q.logicalDate) {
    const iso = (d: Date | string): string => new Date(d).toISOString();
    parts.push(`${searchAttributes.logicalDate.name} >= ${quoted(iso(q.logicalDate.from))}`);
    parts.push(`${searchAttributes.logicalDate.name} < ${quoted(iso(q.logicalDate.to))}`);
  }
  return parts.join(' AND ');
}
