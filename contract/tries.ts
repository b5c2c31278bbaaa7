/**
 * Which try of which step an activity works for. Every activity input extends
 * it; it names pods, files, log lines and artifact prefixes.
 */
import type { RunRef } from '../pipeline/run-ref';

export interface TryRef {
  run: RunRef;
  stepId: string;
  /** 1 for a step's first try. */
  attempt: number;
  /** Set for one index of a mapped step. */
  mapIndex?: number;
  /** The coordinator workflow that takes this try's intermediate metrics (early stopping). */
  metricsTo?: string;
  /** The try's own MLflow run (nested under the run's), when the run tracks to MLflow. */
  mlflowRunId?: string;
}

/** How log lines name a try: `run step#attempt`, or `run step[index]#attempt` for a mapped step. */
export function tryTag(ref: TryRef): string {
  return `${ref.run.runId} ${ref.stepId}${ref.mapIndex !== undefined ? `[${ref.mapIndex}]` : ''}#${ref.attempt}`;
}
