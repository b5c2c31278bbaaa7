/**
 * Stable `type`s of the ApplicationFailures that steps raise. A step failure is
 * the step's business: the workflow decides whether to try again (a new try,
 * with the step's retry policy). Temporal's own activity retries are kept for
 * lost tries (a worker that died, a missed heartbeat), which resume the same try.
 */
export const FailureTypes = {
  processExit: 'ProcessExitError',
  stepTimeout: 'StepTimeout',
  commandNotFound: 'CommandNotFound',
  invalidXCom: 'InvalidXCom',
  unknownTask: 'UnknownTask',
  taskFailed: 'TaskFailed',
  unknownImage: 'UnknownImage',
  missingSecret: 'MissingSecret',
  webhookRejected: 'WebhookRejected',
  missingWebhook: 'MissingWebhook',
  podUnschedulable: 'PodUnschedulable',
  podStartFailed: 'PodStartFailed',
  podFailed: 'PodFailed',
  podEvicted: 'PodEvicted',
  podConflict: 'PodConflict',
  kubernetesApi: 'KubernetesApiError',
  sensorTimeout: 'SensorTimeout',
  sensorFailedState: 'SensorFailedState',
  sensorAccess: 'SensorAccessError',
} as const;

/** Every step failure type: Temporal must not retry these itself. */
export const STEP_FAILURE_TYPES: string[] = Object.values(FailureTypes);
