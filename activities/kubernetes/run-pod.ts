/**
 * The `pod` step on Kubernetes: one orchestrating function over the pure
 * builder, the status predicates and the thin pod manager.
 *
 * create (or adopt the pod this try already created) -> wait to be scheduled
 * (schedule timeout; the scheduler's reason on failure) -> wait for the
 * container to start (startup timeout; image and config errors fail at once)
 * -> wait for it to end (the step timeout) -> XCom from the termination message
 * -> clean up by onFinishAction. A cancelled run deletes the pod and waits until
 * it is gone; a worker shutting down leaves it running for the next worker.
 */
import { type ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import type { V1Pod } from '@kubernetes/client-node';
import { type TryRef, failure, tryTag } from '../../contract';
import { type CompiledPodConfig, type Json, formatDuration, parseDuration } from '../../pipeline';
import type { ArtifactsOptions } from '../artifacts';
import { forwardMetrics } from '../metrics-forwarder';
import type { StepResult } from '../types';
import { ANNOTATIONS, identityKey } from './naming';
import type { PodManager } from './pod-manager';
import { mlflowEnv } from '../mlflow/tracking';
import { CONTAINER_NAME, buildPod } from './pod-spec';
import { containerStarted, describeDisruption, disruptionOf, fatalWaiting, isFinished, isScheduled, lostToInfrastructure, schedulingEventMessage, termination, unschedulableReason } from './status';
import { statusOf } from './api-retry';

export interface RunPodInput extends TryRef {
  /** The step's compiled config, templates rendered. */
  config: CompiledPodConfig;
  /** The step's timeout for one try, ms: the pod is deleted when it passes. */
  timeoutMs: number;
}

export interface PodRunnerDeps {
  pods: PodManager;
  /** Namespace of pods whose config names none. @default 'default' */
  namespace?: string;
  /** Where steps keep their artifacts; each pod gets its prefix as `$TRAINYARD_ARTIFACTS_URI`. */
  artifacts: ArtifactsOptions;
  /** MLflow's URL as pods reach it: a tracked try's pod gets it as MLFLOW_TRACKING_URI. */
  mlflowTrackingUri?: string;
}

/** Raised inside the runner when a wait ends without the pod reaching the state. */
class WaitTimeout extends Error {
  override name = 'WaitTimeout';
}

const RECHECK_MS = 10_000;

export function createPodActivities(deps: PodRunnerDeps) {
  return {
    async runPod(input: RunPodInput): Promise<StepResult> {
      const ctx = Context.current();
      const { config } = input;
      const id = input;
      const manifest = buildPod(id, config, deps.namespace ?? 'default', deps.artifacts, mlflowEnv(input, deps.mlflowTrackingUri));
      const namespace = manifest.metadata?.namespace ?? 'default';
      const name = manifest.metadata?.name ?? '';
      const watch = await deps.pods.watch(namespace);
      // A resumed try continues the log where the lost worker's last heartbeat left it.
      const resumed = ctx.info.heartbeatDetails as { lastLogTime?: string } | undefined;
      const logs = { lastLogTime: resumed?.lastLogTime, tail: [] as string[] };
      const beat = (phase: string): void => ctx.heartbeat({ podName: name, namespace, phase, ...(logs.lastLogTime ? { lastLogTime: logs.lastLogTime } : {}) });

      let created = false;
      try {
        await deps.pods.create(manifest);
        created = true;
      } catch (err) {
        if (statusOf(err) !== 409) throw apiFailure(err, `could not create pod ${namespace}/${name}`);
        const existing = await deps.pods.get(namespace, name);
        if (existing?.metadata?.annotations?.[ANNOTATIONS.identity] !== identityKey(id)) {
          throw failure('podConflict', `pod ${namespace}/${name} exists but was not created for ${input.stepId} try ${input.attempt}; delete it or rename the step`);
        }
      }
      beat(created ? 'Created' : 'Adopted');
      ctx.log.info(`[${tryTag(input)}] pod ${namespace}/${name} ${created ? 'created' : 're-attached'}`);
      const metrics = forwardMetrics(input);

      /** Resolves with the pod once `ready(pod)` holds; rejects on timeout, deletion or cancellation. */
      const until = (what: string, ready: (pod: V1Pod) => boolean, timeoutMs: number): Promise<V1Pod> =>
        new Promise<V1Pod>((resolve, reject) => {
          let settled = false;
          const finish = (fn: () => void): void => {
            if (settled) return;
            settled = true;
            unsubscribe();
            clearTimeout(timer);
            clearInterval(recheck);
            ctx.cancellationSignal.removeEventListener('abort', onAbort);
            fn();
          };
          // Once the pod is gone, only its last seen state can tell an eviction from a deletion.
          let lastSeen = watch.current(name);
          const check = (pod: V1Pod | undefined): void => {
            if (pod === undefined) return finish(() => reject(vanished(namespace, name, lastSeen, what)));
            lastSeen = pod;
            if (ready(pod)) finish(() => resolve(pod));
          };
          const onAbort = (): void => finish(() => reject(ctx.cancellationSignal.reason as Error));
          const unsubscribe = watch.subscribe(name, check);
          const timer = setTimeout(() => finish(() => reject(new WaitTimeout(what))), timeoutMs);
          // Should the shared watch ever miss an update, a direct read now and then still sees the change.
          const recheck = setInterval(() => {
            deps.pods.get(namespace, name).then(check, () => undefined);
          }, RECHECK_MS);
          ctx.cancellationSignal.addEventListener('abort', onAbort);
          if (ctx.cancellationSignal.aborted) return onAbort();
          const now = watch.current(name);
          if (now) check(now);
        });

      // One heartbeat for the whole try, whatever it is waiting on.
      const heartbeat = setInterval(() => beat(watch.current(name)?.status?.phase ?? 'Unknown'), 1000);
      let succeeded = false;
      let following: { finish: () => Promise<void>; stop: () => void } | undefined;
      let mustDelete = false;
      let keepForNextWorker = false;
      try {
        const scheduleTimeout = parseDuration(config.scheduleTimeout) ?? 0;
        try {
          await until('waiting to be scheduled', (p) => isScheduled(p) || isFinished(p), scheduleTimeout);
        } catch (err) {
          if (!(err instanceof WaitTimeout)) throw err;
          mustDelete = true;
          const current = watch.current(name);
          const reason = (current && unschedulableReason(current)) ?? schedulingEventMessage(await deps.pods.events(namespace, name)) ?? 'no reason given';
          throw failure('podUnschedulable', `pod ${namespace}/${name} was not scheduled within ${formatDuration(scheduleTimeout)}: ${reason}`);
        }
        beat('Scheduled');

        const startupTimeout = parseDuration(config.startupTimeout) ?? 0;
        let started: V1Pod;
        try {
          started = await until('starting', (p) => containerStarted(p) || fatalWaiting(p) !== undefined, startupTimeout);
        } catch (err) {
          if (!(err instanceof WaitTimeout)) throw err;
          mustDelete = true;
          throw failure('podStartTimeout', `pod ${namespace}/${name} did not start within ${formatDuration(startupTimeout)}`);
        }
        const fatal = fatalWaiting(started);
        if (fatal) {
          mustDelete = true;
          throw failure('podStartFailed', `pod ${namespace}/${name} cannot start: ${fatal.reason}: ${fatal.message}`);
        }
        beat('Running');
        const tag = `[${tryTag(input)}]`;
        following = !config.getLogs ? undefined : followLogs(deps.pods, namespace, name, logs, (line) => {
          ctx.log.info(`${tag} ${line}`);
          metrics.line(line);
        });

        let ended: V1Pod;
        try {
          ended = await until('running', isFinished, input.timeoutMs);
        } catch (err) {
          if (!(err instanceof WaitTimeout)) throw err;
          mustDelete = true;
          throw failure('stepTimeout', `timed out after ${formatDuration(input.timeoutMs)}; pod ${namespace}/${name} deleted`);
        }
        await following?.finish();
        await metrics.flush();
        const end = termination(ended);
        if (ended.status?.phase !== 'Succeeded') {
          const last = logs.tail.length ? `; last log lines:\n${logs.tail.join('\n')}` : '';
          const what = `pod ${namespace}/${name} failed: exit code ${end.exitCode ?? 'unknown'}${end.reason ? `, reason ${end.reason}` : ''}`;
          // The cluster ended it (evicted, node shut down, preempted): not the program's fault.
          if (lostToInfrastructure(end) || disruptionOf(ended) !== undefined) throw failure('podEvicted', `${what} (the node, not the program; a new try may succeed)${last}`);
          throw failure('podFailed', `${what}${last}`, { details: [{ exitCode: end.exitCode ?? null, reason: end.reason ?? null }] });
        }
        succeeded = true;
        if (!config.xcom || !end.message) return {};
        try {
          return { xcom: JSON.parse(end.message) as Json };
        } catch (err) {
          throw failure(
            'invalidXCom',
            `the termination message of pod ${namespace}/${name} is not valid JSON (${(err as Error).message}); write one JSON value of at most 4 KiB to /airflow/xcom/return.json`,
          );
        }
      } catch (err) {
        if (err instanceof CancelledFailure || ctx.cancellationSignal.aborted) {
          const reason = (ctx.cancellationSignal.reason as Error | undefined)?.message;
          if (reason === 'WORKER_SHUTDOWN') keepForNextWorker = true;
          else mustDelete = true;
        }
        throw err;
      } finally {
        clearInterval(heartbeat);
        following?.stop();
        const action = config.onFinishAction;
        const remove = !keepForNextWorker && (mustDelete || action === 'delete_pod' || (action === 'delete_succeeded_pod' && succeeded));
        if (remove) {
          await deps.pods.delete(namespace, name);
          if (mustDelete) await waitUntilGone(deps.pods, namespace, name);
        }
      }
    },
  };
}

const TAIL_LINES = 20;
const FINAL_LINES_GRACE_MS = 500;

/**
 * Follows the container's log into the worker log until `finish()`, reconnecting
 * from the last line's timestamp when the stream drops; lines already seen are skipped.
 */
function followLogs(
  pods: PodManager,
  namespace: string,
  name: string,
  logs: { lastLogTime: string | undefined; tail: string[] },
  write: (line: string) => void,
): { finish: () => Promise<void>; stop: () => void } {
  const stop = new AbortController();
  let ending = false;
  const loop = (async () => {
    while (!stop.signal.aborted) {
      try {
        await pods.followLogs(namespace, name, CONTAINER_NAME, logs.lastLogTime, (timestamp, text) => {
          if (logs.lastLogTime !== undefined && timestamp <= logs.lastLogTime) return;
          logs.lastLogTime = timestamp;
          logs.tail.push(text);
          if (logs.tail.length > TAIL_LINES) logs.tail.shift();
          write(text);
        }, stop.signal);
      } catch {
        // The stream broke; try again below.
      }
      if (ending) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  return {
    // The pod has ended: a kubelet closes the stream itself; give it a moment to deliver the last lines.
    async finish() {
      ending = true;
      const timer = setTimeout(() => stop.abort(), FINAL_LINES_GRACE_MS);
      await loop;
      clearTimeout(timer);
      stop.abort();
    },
    stop: () => stop.abort(),
  };
}

async function waitUntilGone(pods: PodManager, namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
  const watch = await pods.watch(namespace);
  if (!watch.current(name) && !(await pods.get(namespace, name))) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const unsubscribe = watch.subscribe(name, (pod) => pod === undefined && done());
    function done(): void {
      clearTimeout(timer);
      unsubscribe();
      resolve();
    }
    if (!watch.current(name)) done();
  });
}

/** A pod gone mid-try: evicted (its node lost, say), which a new try may outlive, or deleted by someone. */
function vanished(namespace: string, name: string, lastSeen: V1Pod | undefined, what: string): ApplicationFailure {
  const evicted = disruptionOf(lastSeen);
  if (evicted) {
    return failure('podEvicted', `pod ${namespace}/${name} was ${describeDisruption(evicted)} while ${what} (the node, not the program; a new try may succeed)`);
  }
  return failure('podFailed', `pod ${namespace}/${name} was deleted while ${what}`);
}

function apiFailure(err: unknown, what: string): ApplicationFailure {
  const status = statusOf(err);
  const body = (err as { body?: unknown }).body;
  let detail = (err as Error).message;
  try {
    detail = (JSON.parse(typeof body === 'string' ? body : JSON.stringify(body)) as { message?: string }).message ?? detail;
  } catch {
    // Not a Status object: keep the client's message.
  }
  const message = `${what}: ${detail}`;
  // 4xx (other than throttling) means the manifest is wrong: retrying cannot help.
  return failure(status !== undefined && status >= 400 && status < 500 && status !== 429 ? 'kubernetesRejected' : 'kubernetesApi', message);
}
