/**
 * Approval steps' public surface: the `approve` and `reject` Updates a run
 * takes, what they take and answer, and how a waiting approval shows in the
 * run's state. A validator refuses a decision the run cannot take (a step that
 * is not waiting, a stale model version, an empty approver, the run's own
 * starter approving, a second decision); a refused Update leaves no trace in
 * the run and the step keeps waiting.
 *
 *   const decision = await client.workflow.getHandle(runId).executeUpdate(approveUpdate, {
 *     args: [{ stepId: 'approve_model', modelName: 'churn', version: 4, approver: 'alice@example.com', comment: 'AUC up 2 points' }],
 *   });
 */
import { defineUpdate } from '@temporalio/workflow';
import type { ApprovalRecord, Json } from '../pipeline';

/** What `approve` and `reject` take: the decision is bound to the step and to the exact model version it waits on. */
export interface ApprovalInput {
  stepId: string;
  /** Must be the model the step waits on. */
  modelName: string;
  /** Must be the version the step waits on; 4 and '4' are the same version. */
  version: string | number;
  /** Who decides; not the run's starter when approving (until the API authenticates, the caller names itself). */
  approver: string;
  comment?: string;
}

/** What they answer: the decision as recorded, which is also the step's XCom. */
export type ApprovalResult = ApprovalRecord;

/** An approval step's request, in its step state (`StepRunState.approval`) from the moment it waits. */
export interface ApprovalState {
  model: string;
  version: string;
  /** ISO-8601. */
  requestedAt: string;
  /** ISO-8601: when `onTimeout` decides. */
  deadline: string;
  /** What the step's `details` rendered to. */
  details: Record<string, Json>;
  /** The version's metrics in MLflow (its run's), when the worker has a tracking server. */
  metrics?: Record<string, number>;
  /** Set once decided. */
  decision?: ApprovalResult;
}

export const approveUpdate = defineUpdate<ApprovalResult, [ApprovalInput]>('approve');
export const rejectUpdate = defineUpdate<ApprovalResult, [ApprovalInput]>('reject');

/** The approver of a decision the deadline made (`onTimeout: 'reject'`); no person may use the name. */
export const TIMEOUT_APPROVER = 'timeout';

/** The run's memo key under which every decision (the steps' XCom) is recorded, so history and the Web UI show it. */
export const APPROVALS_MEMO_KEY = 'trainyardApprovals';

/** The HTTP path that decides an approval step: POST a body of `{ decision: 'approve' | 'reject', modelName, version, approver, comment? }`. */
export function approvalPath(runId: string, stepId: string): string {
  return `/runs/${encodeURIComponent(runId)}/steps/${encodeURIComponent(stepId)}/approval`;
}
