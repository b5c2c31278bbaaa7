/**
 * Thrown when a pipeline spec is invalid. Lists every problem at once, each
 * with the step it belongs to, so one edit can fix them all.
 */
export class PipelineValidationError extends Error {
  override name = 'PipelineValidationError';
  constructor(
    readonly pipelineId: string,
    readonly problems: readonly string[],
  ) {
    super(`pipeline '${pipelineId}' is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Thrown when a template or condition names a variable that does not exist, or is malformed. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}
