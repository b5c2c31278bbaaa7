/** Pure predicates over a pod's status, as the API server reports it. */
import type { CoreV1Event, V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { CONTAINER_NAME } from './pod-spec';

/** Waiting reasons that no amount of waiting fixes: the try fails at once, not retried. */
export const FATAL_WAITING_REASONS = ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError'];

function mainContainer(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === CONTAINER_NAME);
}

export function isScheduled(pod: V1Pod): boolean {
  if (pod.spec?.nodeName) return true;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'True');
}

/** The scheduler's last word on why the pod is not placed, if it said one. */
export function unschedulableReason(pod: V1Pod): string | undefined {
  const condition = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled' && c.status === 'False');
  return condition?.message ?? condition?.reason;
}

/** The newest FailedScheduling event's message. */
export function schedulingEventMessage(events: readonly CoreV1Event[]): string | undefined {
  const failed = events.filter((e) => e.reason === 'FailedScheduling');
  const time = (e: CoreV1Event): number => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
  return failed.sort((a, b) => time(b) - time(a))[0]?.message;
}

/** A waiting reason that means the container will never start. */
export function fatalWaiting(pod: V1Pod): { reason: string; message: string } | undefined {
  const waiting = mainContainer(pod)?.state?.waiting;
  if (waiting?.reason && FATAL_WAITING_REASONS.includes(waiting.reason)) {
    return { reason: waiting.reason, message: waiting.message ?? waiting.reason };
  }
  return undefined;
}

/** The container has started (it runs or has already ended). */
export function containerStarted(pod: V1Pod): boolean {
  const state = mainContainer(pod)?.state;
  return state?.running !== undefined || state?.terminated !== undefined || isFinished(pod);
}

export function isFinished(pod: V1Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

export interface Termination {
  exitCode: number | undefined;
  /** `Completed`, `Error`, `OOMKilled`, `Evicted`, `DeadlineExceeded`, ... */
  reason: string | undefined;
  /** The termination message: the XCom file's content on success. */
  message: string | undefined;
}

/** How the pod ended. Eviction and deadlines show on the pod, not the container. */
export function termination(pod: V1Pod): Termination {
  const terminated = mainContainer(pod)?.state?.terminated;
  const podReason = pod.status?.reason;
  return {
    exitCode: terminated?.exitCode,
    reason: podReason === 'Evicted' || podReason === 'DeadlineExceeded' ? podReason : (terminated?.reason ?? podReason),
    message: terminated?.message,
  };
}

/** Failures caused by the node, not the program: a new try may well succeed. */
export function lostToInfrastructure(t: Termination): boolean {
  return t.reason === 'Evicted' || t.reason === 'NodeLost' || t.reason === 'Preempting' || t.reason === 'Terminated';
}

/** The cluster's account of why it took a pod away. */
export interface Disruption {
  /** The node the pod was on, if it had been placed. */
  node: string | undefined;
  /** DeletionByTaintManager, PreemptionByScheduler, EvictionByEvictionAPI, DeletionByPodGC, NodeLost, ... */
  reason: string;
  message: string | undefined;
}

/**
 * Why a pod that disappeared was taken by the cluster, judged from the last state
 * seen of it. Controllers mark a pod with a DisruptionTarget condition before they
 * delete it (taint eviction when its node is lost, preemption, the eviction API,
 * pod GC); older clusters and kubelets say so in the pod's reason instead. With
 * neither, nothing tells it from a person deleting the pod: undefined.
 */
export function disruptionOf(pod: V1Pod | undefined): Disruption | undefined {
  if (!pod) return undefined;
  const node = pod.spec?.nodeName || undefined;
  const target = (pod.status?.conditions ?? []).find((c) => c.type === 'DisruptionTarget' && c.status === 'True');
  if (target) return { node, reason: target.reason ?? 'DisruptionTarget', message: target.message };
  const reason = pod.status?.reason;
  if (reason && lostToInfrastructure({ exitCode: undefined, reason, message: undefined })) return { node, reason, message: pod.status?.message };
  return undefined;
}

/** "evicted from node N (Reason: message)", for a failure message. */
export function describeDisruption(d: Disruption): string {
  return `evicted${d.node ? ` from node ${d.node}` : ''} (${d.message ? `${d.reason}: ${d.message}` : d.reason})`;
}
