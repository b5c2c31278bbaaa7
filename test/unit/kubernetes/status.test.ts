import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CoreV1Event, V1ContainerState, V1Pod, V1PodCondition } from '@kubernetes/client-node';
import { CONTAINER_NAME } from '../../../activities/kubernetes/pod-spec';
import {
  FATAL_WAITING_REASONS,
  type Termination,
  containerStarted,
  describeDisruption,
  disruptionOf,
  fatalWaiting,
  isFinished,
  isScheduled,
  lostToInfrastructure,
  schedulingEventMessage,
  termination,
  unschedulableReason,
} from '../../../activities/kubernetes/status';

interface PodShape {
  nodeName?: string;
  phase?: string;
  reason?: string;
  message?: string;
  conditions?: V1PodCondition[];
  /** The main container's state. */
  state?: V1ContainerState;
  /** States of other containers, listed before the main one. */
  others?: Record<string, V1ContainerState>;
}

/** A V1Pod-shaped plain object with only the fields the predicates read. */
function pod(shape: PodShape = {}): V1Pod {
  const containerStatuses = [
    ...Object.entries(shape.others ?? {}).map(([name, state]) => ({ name, state, image: 'side', imageID: '', ready: false, restartCount: 0 })),
    ...(shape.state ? [{ name: CONTAINER_NAME, state: shape.state, image: 'main', imageID: '', ready: false, restartCount: 0 }] : []),
  ];
  return {
    metadata: { name: 'p', namespace: 'ns' },
    spec: { containers: [{ name: CONTAINER_NAME, image: 'main' }], ...(shape.nodeName !== undefined ? { nodeName: shape.nodeName } : {}) },
    status: {
      ...(shape.phase ? { phase: shape.phase } : {}),
      ...(shape.reason ? { reason: shape.reason } : {}),
      ...(shape.message ? { message: shape.message } : {}),
      ...(shape.conditions ? { conditions: shape.conditions } : {}),
      ...(containerStatuses.length ? { containerStatuses } : {}),
    },
  };
}

function event(reason: string, message: string, times: { last?: string; event?: string; created?: string }): CoreV1Event {
  return {
    involvedObject: { kind: 'Pod', name: 'p' },
    metadata: { name: `p.${message}`, ...(times.created ? { creationTimestamp: new Date(times.created) } : {}) },
    reason,
    message,
    ...(times.last ? { lastTimestamp: new Date(times.last) } : {}),
    ...(times.event ? { eventTime: new Date(times.event) } : {}),
  };
}

const unschedulable: V1PodCondition = {
  type: 'PodScheduled',
  status: 'False',
  reason: 'Unschedulable',
  message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
};

describe('isScheduled', () => {
  it('is false for a fresh pending pod', () => {
    assert.equal(isScheduled(pod({ phase: 'Pending' })), false);
    assert.equal(isScheduled({}), false);
  });

  it('is true once the pod has a node', () => {
    assert.equal(isScheduled(pod({ nodeName: 'node-1' })), true);
  });

  it('does not count an empty node name', () => {
    assert.equal(isScheduled(pod({ nodeName: '' })), false);
  });

  it('is true when the PodScheduled condition is True, even before nodeName shows', () => {
    assert.equal(isScheduled(pod({ conditions: [{ type: 'Initialized', status: 'True' }, { type: 'PodScheduled', status: 'True' }] })), true);
  });

  it('is false while PodScheduled is False or Unknown', () => {
    assert.equal(isScheduled(pod({ conditions: [unschedulable] })), false);
    assert.equal(isScheduled(pod({ conditions: [{ type: 'PodScheduled', status: 'Unknown' }] })), false);
    assert.equal(isScheduled(pod({ conditions: [{ type: 'Ready', status: 'True' }] })), false);
  });
});

describe('unschedulableReason', () => {
  it("gives the scheduler's message", () => {
    assert.equal(unschedulableReason(pod({ conditions: [unschedulable] })), unschedulable.message);
  });

  it('falls back to the reason when there is no message', () => {
    assert.equal(unschedulableReason(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulerError' }] })), 'SchedulerError');
  });

  it('is undefined when the pod is scheduled or nothing was said', () => {
    assert.equal(unschedulableReason(pod({ conditions: [{ type: 'PodScheduled', status: 'True', message: 'ignored' }] })), undefined);
    assert.equal(unschedulableReason(pod({ conditions: [{ type: 'Ready', status: 'False', message: 'not ready' }] })), undefined);
    assert.equal(unschedulableReason(pod()), undefined);
    assert.equal(unschedulableReason({}), undefined);
  });
});

describe('schedulingEventMessage', () => {
  it('is undefined without FailedScheduling events', () => {
    assert.equal(schedulingEventMessage([]), undefined);
    assert.equal(schedulingEventMessage([event('Scheduled', 'assigned', { last: '2024-01-01T00:00:00Z' })]), undefined);
  });

  it('gives the newest FailedScheduling message, in whatever order the events come', () => {
    const old = event('FailedScheduling', 'old', { last: '2024-01-01T00:00:00Z' });
    const newest = event('FailedScheduling', 'newest', { last: '2024-01-01T00:05:00Z' });
    const middle = event('FailedScheduling', 'middle', { last: '2024-01-01T00:02:00Z' });
    const other = event('Pulling', 'later but not scheduling', { last: '2024-01-01T01:00:00Z' });
    assert.equal(schedulingEventMessage([old, newest, middle, other]), 'newest');
    assert.equal(schedulingEventMessage([other, middle, old, newest]), 'newest');
    assert.equal(schedulingEventMessage([newest, middle, old]), 'newest');
  });

  it('uses eventTime, then creation time, when lastTimestamp is missing', () => {
    const byEventTime = event('FailedScheduling', 'by eventTime', { event: '2024-01-01T00:10:00Z' });
    const byLast = event('FailedScheduling', 'by lastTimestamp', { last: '2024-01-01T00:05:00Z' });
    const byCreation = event('FailedScheduling', 'by creation', { created: '2024-01-01T00:07:00Z' });
    assert.equal(schedulingEventMessage([byLast, byEventTime, byCreation]), 'by eventTime');
    assert.equal(schedulingEventMessage([byLast, byCreation]), 'by creation');
  });

  it('goes by the last occurrence of a repeated event, not its first', () => {
    const repeated = event('FailedScheduling', 'repeated', { event: '2024-01-01T00:00:00Z', last: '2024-01-01T00:09:00Z' });
    const once = event('FailedScheduling', 'once', { event: '2024-01-01T00:05:00Z' });
    assert.equal(schedulingEventMessage([once, repeated]), 'repeated');
  });

  it('treats a null lastTimestamp (new-style events) as missing', () => {
    const nulled = { ...event('FailedScheduling', 'new style', { event: '2024-01-01T00:10:00Z' }), lastTimestamp: null } as unknown as CoreV1Event;
    const older = event('FailedScheduling', 'old style', { last: '2024-01-01T00:05:00Z' });
    assert.equal(schedulingEventMessage([older, nulled]), 'new style');
  });

  it('does not reorder the array it is given', () => {
    const events = [
      event('FailedScheduling', 'a', { last: '2024-01-01T00:00:00Z' }),
      event('FailedScheduling', 'b', { last: '2024-01-01T00:05:00Z' }),
    ];
    const order = events.map((e) => e.message);
    schedulingEventMessage(events);
    assert.deepEqual(events.map((e) => e.message), order);
  });
});

describe('fatalWaiting', () => {
  it('lists the four reasons that never clear', () => {
    assert.deepEqual([...FATAL_WAITING_REASONS].sort(), ['CreateContainerConfigError', 'ErrImagePull', 'ImagePullBackOff', 'InvalidImageName']);
  });

  for (const reason of ['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'CreateContainerConfigError']) {
    it(`is fatal for ${reason}, with the kubelet's message`, () => {
      const message = `${reason}: something specific`;
      assert.deepEqual(fatalWaiting(pod({ state: { waiting: { reason, message } } })), { reason, message });
    });

    it(`uses the reason as message for ${reason} without one`, () => {
      assert.deepEqual(fatalWaiting(pod({ state: { waiting: { reason } } })), { reason, message: reason });
    });
  }

  for (const reason of ['ContainerCreating', 'PodInitializing', 'CrashLoopBackOff']) {
    it(`is not fatal for ${reason}`, () => {
      assert.equal(fatalWaiting(pod({ state: { waiting: { reason, message: 'wait' } } })), undefined);
    });
  }

  it('is undefined for running, terminated, or unknown container states', () => {
    assert.equal(fatalWaiting(pod({ state: { running: { startedAt: new Date() } } })), undefined);
    assert.equal(fatalWaiting(pod({ state: { terminated: { exitCode: 1, reason: 'Error' } } })), undefined);
    assert.equal(fatalWaiting(pod({ state: { waiting: {} } })), undefined);
    assert.equal(fatalWaiting(pod()), undefined);
    assert.equal(fatalWaiting({}), undefined);
  });

  it('looks only at the main container', () => {
    assert.equal(fatalWaiting(pod({ others: { sidecar: { waiting: { reason: 'ImagePullBackOff' } } }, state: { waiting: { reason: 'ContainerCreating' } } })), undefined);
    assert.deepEqual(
      fatalWaiting(pod({ others: { sidecar: { running: {} } }, state: { waiting: { reason: 'ErrImagePull', message: 'no such image' } } })),
      { reason: 'ErrImagePull', message: 'no such image' },
    );
  });
});

describe('containerStarted', () => {
  it('is false while the container waits or has no status yet', () => {
    assert.equal(containerStarted(pod({ phase: 'Pending', state: { waiting: { reason: 'ContainerCreating' } } })), false);
    assert.equal(containerStarted(pod({ phase: 'Pending' })), false);
    assert.equal(containerStarted({}), false);
  });

  it('is true when it runs or has terminated', () => {
    assert.equal(containerStarted(pod({ phase: 'Running', state: { running: { startedAt: new Date() } } })), true);
    assert.equal(containerStarted(pod({ phase: 'Running', state: { terminated: { exitCode: 0 } } })), true);
  });

  it('is true for a finished pod even without container statuses', () => {
    assert.equal(containerStarted(pod({ phase: 'Failed', reason: 'Evicted' })), true);
    assert.equal(containerStarted(pod({ phase: 'Succeeded' })), true);
  });

  it('ignores other containers', () => {
    assert.equal(containerStarted(pod({ phase: 'Pending', others: { sidecar: { running: {} } }, state: { waiting: { reason: 'ContainerCreating' } } })), false);
  });
});

describe('isFinished', () => {
  for (const [phase, finished] of [['Succeeded', true], ['Failed', true], ['Pending', false], ['Running', false], ['Unknown', false]] as const) {
    it(`is ${finished} in phase ${phase}`, () => {
      assert.equal(isFinished(pod({ phase })), finished);
    });
  }

  it('is false without a status', () => {
    assert.equal(isFinished({}), false);
  });
});

describe('termination', () => {
  it("reads the main container's exit code, reason and message", () => {
    const ended = pod({ phase: 'Succeeded', state: { terminated: { exitCode: 0, reason: 'Completed', message: '{"accuracy":0.9}' } } });
    assert.deepEqual(termination(ended), { exitCode: 0, reason: 'Completed', message: '{"accuracy":0.9}' });
  });

  it('reports an OOM kill from the container', () => {
    const ended = pod({ phase: 'Failed', state: { terminated: { exitCode: 137, reason: 'OOMKilled' } } });
    assert.deepEqual(termination(ended), { exitCode: 137, reason: 'OOMKilled', message: undefined });
  });

  for (const podReason of ['Evicted', 'DeadlineExceeded']) {
    it(`lets the pod-level ${podReason} win over the container reason`, () => {
      const ended = pod({ phase: 'Failed', reason: podReason, state: { terminated: { exitCode: 137, reason: 'Error', message: 'killed' } } });
      assert.deepEqual(termination(ended), { exitCode: 137, reason: podReason, message: 'killed' });
    });
  }

  it('prefers the container reason over other pod reasons', () => {
    const ended = pod({ phase: 'Failed', reason: 'Something', state: { terminated: { exitCode: 2, reason: 'Error' } } });
    assert.equal(termination(ended).reason, 'Error');
  });

  it('falls back to the pod reason when the container never terminated', () => {
    assert.deepEqual(termination(pod({ phase: 'Failed', reason: 'NodeLost' })), { exitCode: undefined, reason: 'NodeLost', message: undefined });
    assert.deepEqual(termination(pod({ phase: 'Failed', reason: 'Evicted', state: { waiting: { reason: 'ContainerCreating' } } })), {
      exitCode: undefined,
      reason: 'Evicted',
      message: undefined,
    });
  });

  it('ignores terminated sidecars', () => {
    const ended = pod({ phase: 'Failed', others: { sidecar: { terminated: { exitCode: 9, reason: 'Sidecar', message: 'not ours' } } }, state: { terminated: { exitCode: 1, reason: 'Error' } } });
    assert.deepEqual(termination(ended), { exitCode: 1, reason: 'Error', message: undefined });
  });

  it('is all undefined when nothing is known', () => {
    assert.deepEqual(termination({}), { exitCode: undefined, reason: undefined, message: undefined });
  });
});

describe('lostToInfrastructure', () => {
  const of = (reason: string | undefined): Termination => ({ exitCode: 137, reason, message: undefined });

  for (const reason of ['Evicted', 'NodeLost', 'Preempting', 'Terminated']) {
    it(`is true for ${reason}`, () => {
      assert.equal(lostToInfrastructure(of(reason)), true);
    });
  }

  for (const reason of ['Error', 'OOMKilled', 'Completed', 'DeadlineExceeded', 'ContainerCannotRun', 'evicted', undefined]) {
    it(`is false for ${String(reason)}`, () => {
      assert.equal(lostToInfrastructure(of(reason)), false);
    });
  }

  it('is true for an evicted pod end to end', () => {
    const ended = pod({ phase: 'Failed', reason: 'Evicted', state: { terminated: { exitCode: 137, reason: 'Error' } } });
    assert.equal(lostToInfrastructure(termination(ended)), true);
  });

  it('is false for a program that failed on its own', () => {
    const ended = pod({ phase: 'Failed', state: { terminated: { exitCode: 1, reason: 'Error' } } });
    assert.equal(lostToInfrastructure(termination(ended)), false);
  });
});

describe('disruptionOf', () => {
  // What the taint eviction controller writes before it deletes a pod from a node with a NoExecute taint.
  const taintEviction: V1PodCondition = {
    type: 'DisruptionTarget',
    status: 'True',
    reason: 'DeletionByTaintManager',
    message: 'Taint manager: deleting due to NoExecute taint',
  };

  it('reads the DisruptionTarget condition and the node of a pod evicted from a lost node', () => {
    const running = pod({ nodeName: 'cpu-0', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }, taintEviction], state: { running: {} } });
    assert.deepEqual(disruptionOf(running), { node: 'cpu-0', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' });
  });

  for (const reason of ['PreemptionByScheduler', 'EvictionByEvictionAPI', 'DeletionByPodGC', 'TerminationByKubelet']) {
    it(`counts a DisruptionTarget of ${reason}`, () => {
      assert.equal(disruptionOf(pod({ nodeName: 'n', conditions: [{ type: 'DisruptionTarget', status: 'True', reason }] }))?.reason, reason);
    });
  }

  it('names the condition type when a DisruptionTarget gives no reason', () => {
    assert.deepEqual(disruptionOf(pod({ nodeName: 'n', conditions: [{ type: 'DisruptionTarget', status: 'True' }] })), { node: 'n', reason: 'DisruptionTarget', message: undefined });
  });

  it('ignores a DisruptionTarget that is not True', () => {
    assert.equal(disruptionOf(pod({ nodeName: 'n', conditions: [{ ...taintEviction, status: 'False' }] })), undefined);
  });

  it('falls back to a node-loss reason on the pod', () => {
    assert.deepEqual(disruptionOf(pod({ nodeName: 'gpu-0', phase: 'Running', reason: 'NodeLost', message: 'Node gpu-0 which was running pod p is unresponsive' })), {
      node: 'gpu-0',
      reason: 'NodeLost',
      message: 'Node gpu-0 which was running pod p is unresponsive',
    });
    assert.equal(disruptionOf(pod({ nodeName: 'n', phase: 'Failed', reason: 'Evicted' }))?.reason, 'Evicted');
  });

  it('prefers the condition over the pod reason', () => {
    assert.equal(disruptionOf(pod({ nodeName: 'n', reason: 'NodeLost', conditions: [taintEviction] }))?.reason, 'DeletionByTaintManager');
  });

  it('leaves the node out of a pod that was never placed', () => {
    assert.equal(disruptionOf(pod({ conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler' }] }))?.node, undefined);
    assert.equal(disruptionOf(pod({ nodeName: '', conditions: [taintEviction] }))?.node, undefined);
  });

  it('is undefined for a pod that nothing marks as taken: someone deleted it', () => {
    assert.equal(disruptionOf(pod({ nodeName: 'n', phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }], state: { running: {} } })), undefined);
    assert.equal(disruptionOf(pod({ nodeName: 'n', phase: 'Failed', reason: 'DeadlineExceeded' })), undefined);
    assert.equal(disruptionOf({}), undefined);
    assert.equal(disruptionOf(undefined), undefined);
  });
});

describe('describeDisruption', () => {
  it('names the node, the reason and the message', () => {
    assert.equal(
      describeDisruption({ node: 'cpu-0', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' }),
      'evicted from node cpu-0 (DeletionByTaintManager: Taint manager: deleting due to NoExecute taint)',
    );
  });

  it('leaves out what it does not know', () => {
    assert.equal(describeDisruption({ node: undefined, reason: 'PreemptionByScheduler', message: undefined }), 'evicted (PreemptionByScheduler)');
    assert.equal(describeDisruption({ node: 'n', reason: 'NodeLost', message: undefined }), 'evicted from node n (NodeLost)');
  });
});
