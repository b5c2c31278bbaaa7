/**
 * Inputs and results of Trainyard's activities: plain JSON, shared with the
 * workflow as types only.
 */
import type { EnvVar, Json } from '../pipeline';

/** Which run, step and try an activity works for; names files and log lines. */
export interface StepCall {
  pipelineId: string;
  runId: string;
  stepId: string;
  attempt: number;
  /** Set for one index of a mapped step. */
  mapIndex?: number;
  /** The coordinator workflow that takes this try's intermediate metrics (early stopping). */
  metricsTo?: string;
}

/** How log lines name a try: `run step#attempt`, or `run step[index]#attempt` for a mapped step. */
export function tryTag(call: StepCall): string {
  return `${call.runId} ${call.stepId}${call.mapIndex !== undefined ? `[${call.mapIndex}]` : ''}#${call.attempt}`;
}

export interface RunProcessInput extends StepCall {
  command: string[];
  /** Working directory; defaults to the image's local directory, else the run directory. */
  cwd?: string;
  /** A container image name, mapped to a local directory by the worker (pod steps on the local runner). */
  image?: string;
  env?: EnvVar[];
  /** Kill the process group after this long, ms. */
  timeoutMs: number;
}

/** What a step produced. `xcom` is absent when the step returned nothing. */
export interface StepResult {
  xcom?: Json;
}

export interface RunTaskInput extends StepCall {
  fn: string;
  args: unknown;
  /** Fail the try after this long, ms (the function's signal is aborted). */
  timeoutMs?: number;
  logicalDate: string;
  params: Record<string, Json>;
}

export interface NotifyInput extends StepCall {
  webhookEnv?: string;
  url?: string;
  text: string;
  fields?: Record<string, unknown>;
}

export { FailureTypes } from '../pipeline/failures';
