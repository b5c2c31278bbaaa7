/**
 * Pod steps when the cluster misbehaves, against a real API server: transient API
 * errors and dropped connections, injected by a proxy in front of it, and a node
 * lost under a running pod.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { KubeConfig, type V1Pod, type V1Taint, Watch } from '@kubernetes/client-node';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { LogStreams } from '../../activities/kubernetes/log-stream';
import { labelValue } from '../../activities/kubernetes/naming';
import { FAILURES } from '../../contract';
import { pipeline } from '../../pipeline';
import type { RunState } from '../../contract';
import { type FaultProxy, startFaultProxy } from '../support/fault-proxy';
import { type TestCluster, listPods, startTestCluster } from '../support/kubernetes';
import { type TestWorker, eventually, runToEnd, startDevServer, startRun, startWorker, step } from '../support/temporal';

/** How the simulated kubelet runs the container (see deploy/local-cluster/kwok-stages.yaml). */
const sim = (fate: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(fate).map(([k, v]) => [`sim.trainyard.io/${k}`, v]));
const podsOfRun = (cluster: TestCluster, runId: string): Promise<V1Pod[]> => listPods(cluster, 'default', `trainyard.io/run-id=${labelValue(runId)}`);

const PODS = /^\/api\/v1\/namespaces\/default\/pods$/;
const ONE_POD = /^\/api\/v1\/namespaces\/default\/pods\/[^/]+$/;

/** The last line of the log KWOK serves for every container (scripts/local-cluster.ts). */
const LAST_LOG_LINE = 'done';

/** Rejects unless `promise` settles within `ms`: a relay that holds a stream back hangs rather than fails. */
async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts a watch through `kc`; the client resolves once the response's headers have arrived, before any event. */
function startWatch(kc: KubeConfig, query: Record<string, string | number>, onEvent: (type: string, pod: V1Pod) => void, onEnd: (err: unknown) => void): Promise<AbortController> {
  return within(5000, 'the watch response headers to come through the proxy', new Watch(kc).watch('/api/v1/namespaces/default/pods', query, onEvent, onEnd));
}

describe('pod steps when the Kubernetes API or a node fails', { timeout: 240_000 }, () => {
  let env: TestWorkflowEnvironment;
  let cluster: TestCluster;
  let proxy: FaultProxy;
  /** Talks to the cluster through the proxy. */
  let proxied: TestWorker;
  /** Talks to the API server directly. */
  let direct: TestWorker;

  const blips = pipeline({ id: 'api_blips' }, (p) => {
    // Long enough runs that a stream cut lands while a try still waits on its pod.
    const prepare = p.pod('prepare', { image: 'tools:1', cmds: ['prep'], annotations: sim({ 'run-for': '1500ms', message: '{"rows": 3}' }) });
    const train = p.pod('train', { image: 'trainer:1', cmds: ['train'], annotations: sim({ 'run-for': '3s' }) }, { after: [prepare] });
    p.pod('evaluate', { image: 'trainer:1', cmds: ['eval'], annotations: sim({ message: '{"accuracy": 0.9}' }) }, { after: [train] });
  });
  // Retries allowed: a refusal must still end the step on its first try.
  const refused = pipeline({ id: 'api_refused', defaults: { retries: 2, retryDelay: '100ms' } }, (p) => {
    p.pod('submit', { image: 'tools:1', cmds: ['x'] });
  });
  const nodeLoss = pipeline({ id: 'node_loss' }, (p) => {
    p.pod(
      'train',
      {
        image: 'trainer:1',
        cmds: ['train'],
        // The CPU pool has two nodes: a try that loses one has the other.
        nodeSelector: { 'node-pool': 'cpu' },
        // Long enough for the test to take the node away mid-run; short enough for the retry to finish soon after.
        annotations: sim({ 'run-for': '4s', message: '{"done": true}' }),
        onFinishAction: 'keep_pod',
      },
      { retries: 1, retryDelay: '100ms' },
    );
  });

  before(async () => {
    [env, cluster] = await Promise.all([startDevServer(), startTestCluster()]);
    proxy = await startFaultProxy({ upstream: cluster.server, token: cluster.token, certDir: path.join(cluster.dir, 'certs'), dir: cluster.dir });
    [proxied, direct] = await Promise.all([
      startWorker(env, [blips, refused], { kubeconfigPath: proxy.kubeconfigPath }),
      startWorker(env, [nodeLoss], { kubeconfigPath: cluster.kubeconfigPath }),
    ]);
  });
  afterEach(() => proxy?.clearFaults());
  after(async () => {
    await Promise.all([proxied?.stop(), direct?.stop()]);
    await proxy?.close();
    await Promise.all([env?.teardown(), cluster?.stop()]);
  });

  it('relays watches and HTTP/2 log follows as they stream, and closes each side when the other closes', { timeout: 60_000 }, async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(proxy.kubeconfigPath);
    const name = 'relay-check';
    const where = { fieldSelector: `metadata.name=${name}` };
    const streamsBefore = proxy.openStreams();
    const seen: string[] = [];
    let watchEnd: unknown = 'open';
    // No pod matches yet: the headers are all there is to relay.
    const watching = await startWatch(kc, where, (type, pod) => seen.push(`${type} ${pod.status?.phase ?? ''}`), (err) => {
      watchEnd = err ?? 'ended';
    });
    try {
      await cluster.core.createNamespacedPod({
        namespace: 'default',
        body: { metadata: { name, annotations: sim({ 'run-for': '1h' }) }, spec: { containers: [{ name: 'base', image: 'tools:1' }] } },
      });
      await eventually('the watch to relay the pod starting to run', () => (seen.includes('MODIFIED Running') ? true : undefined));
      assert.equal(watchEnd, 'open', 'events came through while the watch stayed open: nothing waited for the response to end');
      assert.equal(proxy.openStreams(), streamsBefore + 1);

      let log = '';
      const stopLog = new AbortController();
      const following = new LogStreams(kc).follow({ namespace: 'default', name, container: 'base' }, (text) => (log += text), stopLog.signal);
      await eventually('the log to come through', () => (log.includes(LAST_LOG_LINE) ? true : undefined));
      stopLog.abort();
      await following;
      const logRequest = proxy.requests.find((r) => r.path === `/api/v1/namespaces/default/pods/${name}/log`);
      assert.equal(logRequest?.httpVersion, '2.0', 'the log was followed over HTTP/2');
      assert.equal(logRequest?.status, 200);
      assert.equal(logRequest?.query.get('follow'), 'true');

      // The clients hang up (the log above, over HTTP/2; the watch here): the proxy must let go of the API server's side too.
      watching.abort();
      await eventually('the proxy to close the streams its clients closed', () => (proxy.openStreams() === streamsBefore ? true : undefined));

      // The API server ends a watch (its timeout): the client must see the end.
      let timedOut: unknown = 'open';
      await startWatch(kc, { ...where, timeoutSeconds: 1 }, () => undefined, (err) => {
        timedOut = err ?? 'ended';
      });
      await eventually('the end of a watch the API server closed to reach the client', () => (timedOut === 'ended' ? true : undefined), 10_000);

      // The API server's side breaks mid-stream: the client must see that as well, not hang.
      let broken: unknown = 'open';
      await startWatch(kc, where, () => undefined, (err) => {
        broken = err ?? 'ended';
      });
      // Only this test's stream: the worker's own watch must not break under the tests that follow.
      assert.equal(proxy.cutStreams((r) => r.query.get('fieldSelector') === where.fieldSelector), 1);
      await eventually('the client to see its watch broken', () => (broken !== 'open' ? true : undefined), 10_000);
    } finally {
      watching.abort();
      await cluster.core.deleteNamespacedPod({ namespace: 'default', name, gracePeriodSeconds: 0 });
    }
  });

  it('rides out throttling, server errors, dropped connections and lost answers with one pod per try', { timeout: 60_000 }, async () => {
    const runId = `api-blips-${Date.now()}`;
    // Every pod the run ever had, as the API server itself reports them (not through the proxy).
    const created = new Map<string, V1Pod>();
    const watching = await new Watch(cluster.kc).watch(
      '/api/v1/namespaces/default/pods',
      { labelSelector: `trainyard.io/run-id=${labelValue(runId)}` },
      (type: string, pod: V1Pod) => {
        if (type === 'ADDED') created.set(pod.metadata?.uid ?? '', pod);
      },
      () => undefined,
    );
    // The worker's pod watch is already open (it syncs before taking work); when it breaks below, as an
    // API server restarting breaks it, the new watch is refused, then told its resource version is too
    // old, and the list that follows fails: the informer must find its way back on its own each time.
    const watchRefused = proxy.inject({ method: 'GET', path: PODS, watch: true }, { status: 503 });
    const watchGone = proxy.inject({ method: 'GET', path: PODS, watch: true }, { status: 410, message: 'too old resource version' });
    const listFailed = proxy.inject({ method: 'GET', path: PODS, watch: false }, { status: 500 });
    // Creating the first pod: unavailable, then throttled, then created with the answer lost on the way back.
    const unavailable = proxy.inject({ method: 'POST', path: PODS }, { status: 503 });
    const throttled = proxy.inject({ method: 'POST', path: PODS }, { status: 429, headers: { 'retry-after': '1' } });
    const answerLost = proxy.inject({ method: 'POST', path: PODS }, { drop: 'after' });
    // The create retried gets 409; reading the pod to adopt it loses its connection once.
    const readDropped = proxy.inject({ method: 'GET', path: ONE_POD }, { drop: 'before' });
    // Cleaning up the first pod: the API server is briefly unavailable.
    const deleteFailed = proxy.inject({ method: 'DELETE', path: ONE_POD }, { status: 503 });
    try {
      const finished = runToEnd(env, proxied, blips, { runner: 'kubernetes', workflowId: runId });
      // Should the wait below fail the test, the run's own end must not surface as an unhandled rejection.
      finished.catch(() => undefined);
      // While 'train' waits on its pod, every stream breaks, as when the API server restarts.
      await eventually('the train pod to run', async () => {
        const pods = await podsOfRun(cluster, runId);
        return pods.some((p) => p.metadata?.labels?.['trainyard.io/step'] === 'train' && p.status?.phase === 'Running') ? true : undefined;
      }, 30_000);
      const cutAt = proxy.requests.length;
      assert.ok(proxy.cutStreams() >= 1, "the worker's watch was open through the proxy");
      const { state, error } = await finished;

      assert.equal(error, undefined, error);
      for (const id of ['prepare', 'train', 'evaluate']) {
        assert.equal(step(state, id).state, 'success', id);
        assert.equal(step(state, id).attempt, 1, `${id}: API errors never cost a try`);
      }
      assert.deepEqual(step(state, 'prepare').output, { rows: 3 });
      assert.deepEqual(step(state, 'evaluate').output, { accuracy: 0.9 });
      for (const [what, fault] of Object.entries({ watchRefused, watchGone, listFailed, unavailable, throttled, answerLost, readDropped, deleteFailed })) {
        assert.equal(fault.hits, 1, `${what} was hit`);
      }

      const pods = [...created.values()].map((p) => `${p.metadata?.labels?.['trainyard.io/step']}#${p.metadata?.labels?.['trainyard.io/try']}`).sort();
      assert.deepEqual(pods, ['evaluate#1', 'prepare#1', 'train#1'], 'exactly one pod was created per try');
      const creates = proxy.requests.filter((r) => r.method === 'POST' && PODS.test(r.path));
      assert.deepEqual(
        creates.map((r) => r.fault ?? String(r.status)),
        ['503', '429', 'drop-after', '409', '201', '201'],
        'the lost answer was followed by a 409 and the existing pod adopted, not a second pod',
      );
      assert.ok(creates[2]!.at - creates[1]!.at >= 900, 'the create after the 429 waited the Retry-After second');
      const afterCut = proxy.requests.slice(cutAt).filter((r) => r.method === 'GET' && PODS.test(r.path));
      assert.deepEqual(
        afterCut.map((r) => `${r.query.get('watch') === 'true' ? 'watch' : 'list'} ${r.fault ?? r.status}`),
        ['watch 503', 'watch 410', 'list 500', 'list 200', 'watch 200'],
        'the informer came back by itself: a new watch, a relist when its version was too old, a retried list',
      );
      const relayedLogs = proxy.requests.filter((r) => r.path.endsWith('/log') && r.httpVersion === '2.0' && r.status === 200);
      assert.ok(relayedLogs.length >= 3, 'each try followed its log over HTTP/2 through the proxy');
      await eventually('every pod to be deleted (delete_pod, retried past the 503)', async () => ((await podsOfRun(cluster, runId)).length === 0 ? true : undefined));
    } finally {
      watching.abort();
    }
  });

  for (const refusal of [
    { status: 403, message: 'pods is forbidden: User "system:serviceaccount:trainyard:worker" cannot create resource "pods" in API group "" in the namespace "default"' },
    { status: 422, message: 'Pod "x" is invalid: spec.containers[0].image: Required value' },
  ]) {
    it(`fails the step at once, without retrying, when the API server answers ${refusal.status}`, { timeout: 60_000 }, async () => {
      const runId = `api-refused-${refusal.status}-${Date.now()}`;
      // Enough to refuse every retry, should there be any.
      const refusing = proxy.inject({ method: 'POST', path: PODS }, refusal, 10);
      const { state, error } = await runToEnd(env, proxied, refused, { runner: 'kubernetes', workflowId: runId });

      assert.ok(error, 'the run failed');
      const submit = step(state, 'submit');
      assert.equal(submit.state, 'failed');
      assert.equal(submit.attempt, 1, 'a refusal is not retried, though the step allows retries');
      assert.ok(submit.error?.includes(`: ${refusal.message}`), submit.error);
      assert.match(submit.error ?? '', /^could not create pod default\/\S+: /);
      assert.equal(refusing.hits, 1, 'the API server was asked once: no retries within the try either');
      assert.deepEqual(await podsOfRun(cluster, runId), []);
    });
  }

  it('fails the try as evicted when the node under a running pod is lost, and retries on another node', { timeout: 60_000 }, async () => {
    const handle = await startRun(env, direct, nodeLoss, { runner: 'kubernetes' });
    const runId = handle.workflowId;
    const first = await eventually('the first try to run', async () => (await podsOfRun(cluster, runId)).find((p) => p.status?.phase === 'Running'), 30_000);
    const lostNode = first.spec?.nodeName ?? '';
    assert.match(lostNode, /^cpu-[01]$/);
    const node = await cluster.core.readNode({ name: lostNode });
    const taints: V1Taint[] = node.spec?.taints ?? [];
    // The node is lost under the pod. The node lifecycle controller would taint it
    // node.kubernetes.io/unreachable:NoExecute, but KWOK keeps every node Ready, so
    // that controller takes such a taint off again within seconds (and pods tolerate
    // it for 300 s by default). node.kubernetes.io/out-of-service is what an operator
    // puts on a node that is gone for good: no controller removes it, no default
    // toleration covers it, so the taint eviction controller deletes the pod at once,
    // through the same path as for an unreachable node (a DisruptionTarget condition
    // with reason DeletionByTaintManager, then the deletion). NoExecute also keeps
    // the retry off this node.
    const outOfService: V1Taint = { key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' };
    await cluster.core.patchNode({ name: lostNode, body: [{ op: 'add', path: '/spec/taints', value: [...taints, outOfService] }] });
    try {
      const result = (await handle.result()) as RunState;
      const train = result.steps.find((s) => s.id === 'train');
      assert.equal(train?.state, 'success');
      assert.equal(train?.attempt, 2, 'the lost try failed and the next one ran');
      assert.deepEqual(train?.output, { done: true });

      const [retry, ...others] = await podsOfRun(cluster, runId);
      assert.equal(others.length, 0, 'the evicted pod is gone; only the retry is kept');
      assert.equal(retry?.metadata?.labels?.['trainyard.io/try'], '2');
      assert.match(retry?.spec?.nodeName ?? '', /^cpu-[01]$/);
      assert.notEqual(retry?.spec?.nodeName, lostNode, 'the retry ran on another node');

      // The step keeps no error once it succeeds: the first try's failure is in the history.
      const history = await handle.fetchHistory();
      const failures = (history.events ?? []).flatMap((e) => (e.activityTaskFailedEventAttributes?.failure ? [e.activityTaskFailedEventAttributes.failure] : []));
      assert.equal(failures.length, 1);
      const failure = failures[0]!;
      assert.equal(failure.applicationFailureInfo?.type, FAILURES.podEvicted.type);
      // The step's retries take an eviction (the new try above), never Temporal's: it is no lost try.
      assert.equal(FAILURES.podEvicted.retriedBy, 'step');
      assert.equal(failure.applicationFailureInfo?.nonRetryable, true, 'not retried by Temporal as the same try');
      assert.equal(
        failure.message,
        `pod default/${first.metadata?.name} was evicted from node ${lostNode} (DeletionByTaintManager: Taint manager: deleting due to NoExecute taint) while running (the node, not the program; a new try may succeed)`,
      );
    } finally {
      await cluster.core.patchNode({ name: lostNode, body: [{ op: 'add', path: '/spec/taints', value: taints }] });
    }
  });
});
