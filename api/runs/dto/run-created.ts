/** The 201 answer to `POST /pipelines/:id/runs`. */
export interface RunCreated {
  /** The Temporal workflow id; the idempotency key when one was given. */
  runId: string;
  /** Temporal's id of this execution of the workflow. */
  temporalRunId: string;
  pipelineId: string;
  pipelineVersion: string;
  /** Normalised ISO-8601 (UTC). */
  logicalDate: string;
  links: { self: string; temporalUi: string };
}
