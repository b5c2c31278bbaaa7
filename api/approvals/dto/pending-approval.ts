import type { Json } from '../../../pipeline';

/** One approval step waiting for a decision, as `GET /approvals` lists it. */
export interface PendingApproval {
  runId: string;
  pipelineId: string;
  stepId: string;
  modelName: string;
  version: string;
  /** ISO-8601. */
  requestedAt: string;
  /** ISO-8601: when the step's `onTimeout` decides. */
  deadline: string;
  /** Who started the run (who may not approve it); null when no one is named. */
  startedBy: string | null;
  /** What the step shows approvers (its rendered `details`). */
  details: Record<string, Json>;
  /** The version's metrics in MLflow (those of the run that produced it); null when the worker has no tracking server. */
  metrics: Record<string, number> | null;
}
