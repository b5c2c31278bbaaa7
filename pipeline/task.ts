/**
 * TypeScript task functions: the TaskFlow analogue. A task is defined once and
 * used by name in the spec; the worker runs it as an activity.
 *
 *   export const selectBest = defineTask('select_best', (args: { results: Metrics[] }) =>
 *     args.results.reduce((a, b) => (b.accuracy > a.accuracy ? b : a)));
 */
import type { RunRef } from './run-ref';

/** What a task function learns about the run it is part of: the run itself, and this try. */
export interface TaskContext extends RunRef {
  stepId: string;
  /** 1 for the first try. */
  attempt: number;
  /** In one index of a mapped step: the index. */
  mapIndex?: number;
  /**
   * Where this step keeps its artifacts: `<base>/<pipeline>/<run>/<step>/` (plus
   * `<index>/` in a mapped step), under the worker's TRAINYARD_ARTIFACTS_URI. The
   * same for every try of the step.
   */
  artifactsUri: string;
  /** Writes a line to the worker log, tagged with the run and step. */
  log: (message: string) => void;
  /**
   * Reports intermediate metrics (`step` counts epochs or iterations) to the mapped
   * step's early-stopping rule; does nothing outside a mapped step with one.
   */
  reportMetrics: (step: number, values: Record<string, number>) => void;
  /** Aborted when the run is cancelled or the try times out. */
  signal: AbortSignal;
}

export interface TaskDefinition<A = unknown, R = unknown> {
  readonly name: string;
  readonly run: (args: A, ctx: TaskContext) => Promise<R> | R;
}

/** Defines a task function; `name` is how specs and the worker refer to it. */
export function defineTask<A, R>(name: string, run: (args: A, ctx: TaskContext) => Promise<R> | R): TaskDefinition<A, R> {
  return { name, run };
}
