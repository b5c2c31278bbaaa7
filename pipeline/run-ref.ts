/**
 * Which run a piece of work belongs to: one value, built once when the run
 * starts and carried whole to the coordinator of each mapped step, each trial,
 * each activity and each task function.
 *
 *   const runner = resolveRunner({ request: body.runner, pipeline: spec.runner, deployment: config.defaultRunner });
 */
import type { Json } from './types';

/** How container steps (`pod`) run: as local processes, or as pods on Kubernetes. */
export const RUNNERS = ['local', 'kubernetes'] as const;
export type Runner = (typeof RUNNERS)[number];

export interface RunRef {
  pipelineId: string;
  /** The spec's hash: which version of the pipeline this run runs. */
  pipelineVersion: string;
  /** The run's workflow id. */
  runId: string;
  /** ISO-8601 timestamp (`{{ ds }}` is its date). */
  logicalDate: string;
  /** The run's params, defaults filled in. */
  params: Record<string, Json>;
  runner: Runner;
  /** Who started the run (`PipelineRunInput.startedBy`): a person, or `schedule:<scheduleId>`. */
  startedBy?: string;
  /** The run's MLflow parent run, when its pipeline tracks to MLflow (`mlflow` option). */
  mlflow?: MlflowRunRef;
}

/** Where a run's MLflow records go: its experiment and its parent run (each try's run nests under it). */
export interface MlflowRunRef {
  experimentId: string;
  /** The run's parent MLflow run. */
  runId: string;
}

export function isRunner(value: unknown): value is Runner {
  return typeof value === 'string' && (RUNNERS as readonly string[]).includes(value);
}

/**
 * The runner of a run, decided in this one place for every way a run starts (API,
 * schedule, S3 event, any Temporal client): the request's choice, else the
 * pipeline's, else the deployment's default (TRAINYARD_DEFAULT_RUNNER), else local.
 */
export function resolveRunner(choices: { request?: Runner | undefined; pipeline?: Runner | undefined; deployment?: Runner | undefined }): Runner {
  return choices.request ?? choices.pipeline ?? choices.deployment ?? 'local';
}
