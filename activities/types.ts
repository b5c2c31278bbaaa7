/**
 * Inputs and results of Trainyard's activities: plain JSON, shared with the
 * workflow as types only. Every input starts from the try it works for (TryRef).
 */
import type { TryRef } from '../contract';
import type { EnvVar, Json } from '../pipeline';

export interface RunProcessInput extends TryRef {
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

export interface RunTaskInput extends TryRef {
  fn: string;
  args: unknown;
  /** Fail the try after this long, ms (the function's signal is aborted). */
  timeoutMs?: number;
}

export interface NotifyInput extends TryRef {
  webhookEnv?: string;
  url?: string;
  text: string;
  fields?: Record<string, unknown>;
}
