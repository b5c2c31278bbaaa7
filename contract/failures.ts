/**
 * Every failure type a run raises, in one table that says who retries it:
 *
 * - `step`: the step's own `retries` (a new try, after `retryDelay`);
 * - `temporal`: Temporal, as the same try (like a lost worker), up to the try's
 *   lost-try attempts; when those run out the try has failed and the step's
 *   `retries` apply;
 * - `nobody`: retrying cannot help; the step (or run) fails at once.
 *
 * A worker that dies or stops heartbeating raises nothing: Temporal resumes the
 * same try (a process is restarted after the old one is killed, a pod re-attached).
 *
 *   throw failure('podFailed', `pod ${name} failed: exit code 1`, { details: [{ exitCode: 1 }] });
 *   if (failureOf(err)?.name === 'mapStepFailed') ...
 */
import { ApplicationFailure } from '@temporalio/common';

export type RetriedBy = 'step' | 'temporal' | 'nobody';

export const FAILURES = {
  /** A process exited non-zero. */
  processExit: { type: 'ProcessExitError', retriedBy: 'step' },
  /** A try ran past its step's `timeout`; its process group was killed or its pod deleted. */
  stepTimeout: { type: 'StepTimeout', retriedBy: 'step' },
  commandNotFound: { type: 'CommandNotFound', retriedBy: 'nobody' },
  /** The XCom file or termination message is not JSON. */
  invalidXCom: { type: 'InvalidXCom', retriedBy: 'nobody' },
  unknownTask: { type: 'UnknownTask', retriedBy: 'nobody' },
  /** A task function threw. */
  taskFailed: { type: 'TaskFailed', retriedBy: 'step' },
  /** A task function threw an ApplicationFailure marked non-retryable. */
  taskFailedFinal: { type: 'TaskFailedFinal', retriedBy: 'nobody' },
  unknownImage: { type: 'UnknownImage', retriedBy: 'nobody' },
  missingSecret: { type: 'MissingSecret', retriedBy: 'nobody' },
  /** The webhook could not be reached, or answered 429 or 5xx. */
  webhookUnavailable: { type: 'WebhookUnavailable', retriedBy: 'step' },
  /** The webhook answered another 4xx: the request itself is wrong. */
  webhookRejected: { type: 'WebhookRejected', retriedBy: 'nobody' },
  missingWebhook: { type: 'MissingWebhook', retriedBy: 'nobody' },
  podUnschedulable: { type: 'PodUnschedulable', retriedBy: 'step' },
  /** The container did not start within `startupTimeout`. */
  podStartTimeout: { type: 'PodStartTimeout', retriedBy: 'step' },
  /** The container cannot start (image pull or configuration error). */
  podStartFailed: { type: 'PodStartFailed', retriedBy: 'nobody' },
  podFailed: { type: 'PodFailed', retriedBy: 'step' },
  /** The node, not the program: evicted, preempted, node lost. */
  podEvicted: { type: 'PodEvicted', retriedBy: 'step' },
  /** A pod of that name exists and was made for another try. */
  podConflict: { type: 'PodConflict', retriedBy: 'nobody' },
  /** The Kubernetes API failed or throttled. */
  kubernetesApi: { type: 'KubernetesApiError', retriedBy: 'step' },
  /** The Kubernetes API refused the pod (a 4xx other than 429): the manifest is wrong. */
  kubernetesRejected: { type: 'KubernetesRejected', retriedBy: 'nobody' },
  /** The worker has no Kubernetes access. */
  noKubernetes: { type: 'NoKubernetes', retriedBy: 'nobody' },
  sensorTimeout: { type: 'SensorTimeout', retriedBy: 'nobody' },
  sensorFailedState: { type: 'SensorFailedState', retriedBy: 'nobody' },
  sensorAccess: { type: 'SensorAccessError', retriedBy: 'nobody' },
  /** No one decided an approval step (`onTimeout: 'fail'`) by its deadline. */
  approvalTimeout: { type: 'ApprovalTimeout', retriedBy: 'nobody' },
  /** An `approve` or `reject` Update the run refused (its validator's message says why); the step keeps waiting. */
  approvalRefused: { type: 'ApprovalRefused', retriedBy: 'nobody' },
  /** S3 or another store answered with a server error or not at all: the same check again may pass. */
  storeUnavailable: { type: 'StoreUnavailable', retriedBy: 'temporal' },
  /** The MLflow server throttled, failed or could not be reached: the same call again may pass. */
  mlflowUnavailable: { type: 'MlflowUnavailable', retriedBy: 'temporal' },
  /** MLflow refused a call (a 4xx): the request itself is wrong. */
  mlflowRejected: { type: 'MlflowRejected', retriedBy: 'nobody' },
  /** The run tracks to MLflow (or a step uses the registry) and the worker has no tracking server. */
  mlflowNotConfigured: { type: 'MlflowNotConfigured', retriedBy: 'nobody' },
  /** A registry step's input is wrong, or names a model, version, alias or metric MLflow does not have. */
  registryError: { type: 'RegistryError', retriedBy: 'nobody' },
  /** A step's config could not be rendered (a missing XCom, say). */
  templateError: { type: 'TemplateError', retriedBy: 'nobody' },
  conditionError: { type: 'ConditionError', retriedBy: 'nobody' },
  branchError: { type: 'BranchError', retriedBy: 'nobody' },
  /** A mapped step's values cannot be expanded. */
  mapError: { type: 'MapError', retriedBy: 'nobody' },
  /** One index of a mapped step failed all its tries. */
  trialFailed: { type: 'TrialFailed', retriedBy: 'nobody' },
  /** Too few indices of a mapped step succeeded; details carry the map's result. */
  mapStepFailed: { type: 'MapStepFailed', retriedBy: 'nobody' },
  /** The spec or the run's input is invalid; details carry `{ problems, state }` (the run's final RunState). */
  pipelineInvalid: { type: 'PipelineValidationError', retriedBy: 'nobody' },
  /** The run ended with failed leaves; details carry `{ failedSteps, state }` (the run's final RunState). */
  runFailed: { type: 'PipelineRunFailed', retriedBy: 'nobody' },
} as const satisfies Record<string, { type: string; retriedBy: RetriedBy }>;

export type FailureName = keyof typeof FAILURES;

const BY_TYPE = new Map<string, FailureName>(Object.entries(FAILURES).map(([name, f]) => [f.type, name as FailureName]));

/**
 * Types Temporal must not retry itself: all but the `temporal` ones. Activity retry
 * policies list them, so a step failure comes back to the workflow at once.
 */
export const NOT_RETRIED_BY_TEMPORAL: string[] = Object.values(FAILURES)
  .filter((f) => f.retriedBy !== 'temporal')
  .map((f) => f.type);

/** The failure to throw for `name`; Temporal retries it only when the table says `temporal`. */
export function failure(name: FailureName, message: string, extra: { details?: unknown[]; cause?: Error } = {}): ApplicationFailure {
  const { type, retriedBy } = FAILURES[name];
  return ApplicationFailure.create({
    message,
    type,
    nonRetryable: retriedBy !== 'temporal',
    ...(extra.details ? { details: extra.details } : {}),
    ...(extra.cause ? { cause: extra.cause } : {}),
  });
}

/** The first ApplicationFailure of ours in `err`'s cause chain (activity and child failures wrap it). */
export function failureOf(err: unknown): { name: FailureName; failure: ApplicationFailure } | undefined {
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && cause.type) {
      const name = BY_TYPE.get(cause.type);
      if (name) return { name, failure: cause };
    }
  }
  return undefined;
}

/** Who retries a failure; one not in the table (a lost try whose attempts ran out, a timeout) is the step's to retry. */
export function retriedBy(err: unknown): RetriedBy {
  const found = failureOf(err);
  return found ? FAILURES[found.name].retriedBy : 'step';
}
