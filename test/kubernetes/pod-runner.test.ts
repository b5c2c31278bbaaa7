/** The pod step on a real Kubernetes API server, with KWOK nodes playing kubelets. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { type KubernetesObject, KubernetesObjectApi, SchedulingV1Api, type V1Pod, loadAllYaml } from '@kubernetes/client-node';
import { PROJECT_ROOT, loadConfig } from '../../worker';
import { writeKubeconfig } from '../../scripts/local-cluster';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { type PodConfig, pipeline } from '../../pipeline';
import { labelValue } from '../../activities/kubernetes/naming';
import path from 'node:path';
import { PIPELINE_RUN_WORKFLOW, type RunState, runStateQuery } from '../../contract';
import { pipeline as reattach } from '../fixtures/pod-reattach-pipeline';
import { pipeline as kwokExample } from '../../examples/ml-training/on-kwok';
import { TRAINING_DATA } from '../../examples/ml-training/pipeline';
import { type TestS3, startTestS3 } from '../support/s3';
import { exitCode, spawnNode } from '../support/process';
import { type TestCluster, listPods, startTestCluster } from '../support/kubernetes';
import { echo } from '../support/tasks';
import { type WebhookSink, startWebhookSink } from '../support/webhook';
import { type TestWorker, eventually, runToEnd, startDevServer, startRun, startWorker, step, tempStateDir } from '../support/temporal';

const WORKER_MAIN = path.resolve(__dirname, '..', '..', 'worker', 'main.js');

/** How the simulated kubelet ends the container (see deploy/local-cluster/kwok-stages.yaml). */
const sim = (fate: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(fate).map(([k, v]) => [`sim.trainyard.io/${k}`, v]));
const GPU = {
  resources: { requests: { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' }, limits: { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' } },
  tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
  nodeSelector: { 'node-pool': 'ml-training' },
};
const podsOfRun = (cluster: TestCluster, namespace: string, runId: string): Promise<V1Pod[]> =>
  listPods(cluster, namespace, `trainyard.io/run-id=${labelValue(runId)}`);

const fullConfig: PodConfig = {
  image: 'ml-trainer:2.1',
  namespace: 'ml-training',
  cmds: ['python', 'train.py'],
  arguments: ['--date', '{{ ds }}', '--lr', '{{ params.lr }}'],
  env: [
    { name: 'DATA_DATE', value: '{{ ds }}' },
    { name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api', key: 'token' } } },
  ],
  envFrom: [{ configMapRef: { name: 'training-defaults' } }, { secretRef: { name: 'aws' }, prefix: 'AWS_' }],
  ...GPU,
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu-type', operator: 'In', values: ['a100'] }] }],
      },
    },
  },
  volumes: [
    { name: 'shared-data', persistentVolumeClaim: { claimName: 'ml-shared-pvc' } },
    { name: 'scratch', emptyDir: { sizeLimit: '1Gi' } },
    { name: 'config', configMap: { name: 'training-defaults' } },
    { name: 'creds', secret: { secretName: 'aws' } },
  ],
  volumeMounts: [
    { name: 'shared-data', mountPath: '/shared' },
    { name: 'scratch', mountPath: '/scratch' },
    { name: 'config', mountPath: '/etc/training', readOnly: true },
    { name: 'creds', mountPath: '/var/run/creds', readOnly: true },
  ],
  imagePullSecrets: ['registry-cred'],
  serviceAccountName: 'trainer',
  labels: { team: 'ml' },
  annotations: { 'example.com/owner': 'ml-team', ...sim({ message: '{"accuracy": 0.93}' }) },
  priorityClassName: 'ml-high',
  securityContext: { runAsNonRoot: true, runAsUser: 1000, allowPrivilegeEscalation: false },
  podSecurityContext: { fsGroup: 2000 },
  onFinishAction: 'keep_pod',
  podTemplate: { spec: { hostname: 'trainer', containers: [{ name: 'base', workingDir: '/app' }] } },
};

describe('pod steps on Kubernetes', { timeout: 240_000 }, () => {
  let env: TestWorkflowEnvironment;
  let cluster: TestCluster;
  let worker: TestWorker;
  let sink: WebhookSink;
  let s3: TestS3;

  const fields = pipeline({ id: 'pod_fields', params: { lr: 0.001 } }, (p) => {
    p.pod('train', fullConfig);
  });
  const placement = pipeline({ id: 'pod_placement' }, (p) => {
    for (let i = 0; i < 4; i++) {
      p.pod(`gpu_${i}`, { image: 'trainer:1', cmds: ['train'], ...GPU, onFinishAction: 'keep_pod' });
      p.pod(`cpu_${i}`, { image: 'tools:1', cmds: ['prep'], resources: { requests: { cpu: '2' } }, onFinishAction: 'keep_pod' });
    }
  });
  const outcomes = pipeline({ id: 'pod_outcomes', defaults: { retries: 1, retryDelay: '100ms' } }, (p) => {
    const trained = p.pod<{ accuracy: number }>('train', { image: 'trainer:1', cmds: ['train'], annotations: sim({ message: '{"accuracy": 0.97, "model_path": "s3://m/1"}' }) });
    p.task('report', echo, { accuracy: trained.get('accuracy'), text: 'model {{ xcom.train.model_path }}' });
    p.pod('oom', { image: 'trainer:1', cmds: ['train'], annotations: sim({ 'exit-code': '137', reason: 'OOMKilled' }) });
    p.pod('evicted', { image: 'trainer:1', cmds: ['train'], annotations: sim({ 'exit-code': '1', reason: 'Evicted' }) }, { retries: 0 });
    p.pod('bad_image', { image: 'no-such-image:0', cmds: ['x'], annotations: sim({ 'waiting-reason': 'ErrImagePull' }) }, { retries: 2 });
    p.pod('too_big', { image: 'trainer:1', cmds: ['x'], ...GPU, resources: { limits: { 'nvidia.com/gpu': '9' } }, scheduleTimeout: '2s' }, { retries: 0 });
    p.pod('bad_xcom', { image: 'trainer:1', cmds: ['x'], annotations: sim({ message: 'not json' }) });
    p.pod('invalid_manifest', { image: 'trainer:1', cmds: ['x'], podTemplate: { spec: { restartPolicy: 'Sometimes' } } });
  });
  const finishing = pipeline({ id: 'pod_finish_actions' }, (p) => {
    p.pod('delete_pod', { image: 'i:1', cmds: ['x'], onFinishAction: 'delete_pod' });
    p.pod('delete_succeeded_ok', { image: 'i:1', cmds: ['x'], onFinishAction: 'delete_succeeded_pod' });
    p.pod('delete_succeeded_failed', { image: 'i:1', cmds: ['x'], onFinishAction: 'delete_succeeded_pod', annotations: sim({ 'exit-code': '2' }) });
    p.pod('keep_pod', { image: 'i:1', cmds: ['x'], onFinishAction: 'keep_pod', annotations: sim({ 'exit-code': '3' }) });
  });
  const scoped = pipeline({ id: 'pod_rbac' }, (p) => {
    p.pod('allowed', { image: 'i:1', cmds: ['x'], namespace: 'ml-training', annotations: sim({ message: '{"ok": true}' }) });
    p.pod('elsewhere', { image: 'i:1', cmds: ['x'], namespace: 'ml-serving' });
  });
  const forever = pipeline({ id: 'pod_forever' }, (p) => {
    p.pod('long_training', { image: 'trainer:1', cmds: ['train'], ...GPU, annotations: sim({ 'run-for': '1h' }) }, { heartbeatTimeout: '5s' });
  });

  before(async () => {
    [env, cluster, sink, s3] = await Promise.all([startDevServer(), startTestCluster(), startWebhookSink(), startTestS3([TRAINING_DATA.bucket])]);
    // The example starts by waiting for the day's data (runs here are for 2026-03-01).
    await s3.put(TRAINING_DATA.bucket, TRAINING_DATA.key.replace('{{ ds }}', '2026-03-01'), 'p0,label\n0,0\n');
    worker = await startWorker(env, [fields, placement, outcomes, finishing, forever, scoped, kwokExample], {
      kubeconfigPath: cluster.kubeconfigPath,
      s3: s3.options,
      notifyEnv: { TRAINYARD_SLACK_WEBHOOK_URL: `${sink.url}/hook` },
      // A worker whose artifacts are in an in-cluster store; pods get its keys from a Secret.
      artifacts: loadConfig({
        TRAINYARD_ARTIFACTS_URI: 's3://trainyard-artifacts',
        TRAINYARD_S3_ENDPOINT: 'http://minio.storage:9000',
        TRAINYARD_K8S_ARTIFACTS_SECRET: 'artifact-store',
      }).artifacts,
    });
    await cluster.kc.makeApiClient(SchedulingV1Api).createPriorityClass({ body: { metadata: { name: 'ml-high' }, value: 1000 } });
    await cluster.core.createNamespacedServiceAccount({ namespace: 'ml-training', body: { metadata: { name: 'trainer' } } });
  });
  after(async () => {
    await worker?.stop();
    await Promise.all([env?.teardown(), cluster?.stop(), s3?.stop()]);
    sink?.close();
  });

  it('creates the pod the step describes, field by field, and reads its XCom from the termination message', async () => {
    const { state, error } = await runToEnd(env, worker, fields, { runner: 'kubernetes' });
    assert.equal(error, undefined, error);
    assert.deepEqual(step(state, 'train').output, { accuracy: 0.93 });
    const [pod] = await podsOfRun(cluster, 'ml-training', state.run.runId);
    assert.ok(pod, 'the pod was kept');
    const spec = pod.spec!;
    const c = spec.containers[0]!;
    assert.equal(c.name, 'base');
    assert.equal(c.image, 'ml-trainer:2.1');
    assert.deepEqual(c.command, ['python', 'train.py']);
    assert.deepEqual(c.args, ['--date', '2026-03-01', '--lr', '0.001']);
    assert.deepEqual(c.env?.find((e) => e.name === 'DATA_DATE')?.value, '2026-03-01');
    assert.deepEqual({ ...c.env?.find((e) => e.name === 'API_TOKEN')?.valueFrom?.secretKeyRef }, { name: 'api', key: 'token' });
    // The artifact store, from the worker's configuration: the try's prefix, the endpoint, the credentials Secret first.
    const value = (name: string): string | undefined => c.env?.find((e) => e.name === name)?.value;
    assert.equal(value('TRAINYARD_ARTIFACTS_URI'), `s3://trainyard-artifacts/pod_fields/${state.run.runId}/train/`);
    assert.equal(value('AWS_ENDPOINT_URL'), 'http://minio.storage:9000');
    assert.equal(value('AWS_REGION'), 'us-east-1');
    assert.equal(c.envFrom?.[0]?.secretRef?.name, 'artifact-store');
    assert.equal(c.envFrom?.[1]?.configMapRef?.name, 'training-defaults');
    assert.equal(c.envFrom?.[2]?.prefix, 'AWS_');
    assert.deepEqual(c.resources?.limits, { cpu: '8', memory: '32Gi', 'nvidia.com/gpu': '1' });
    assert.deepEqual(c.resources?.requests, { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' });
    assert.deepEqual(c.volumeMounts?.map((m) => m.mountPath).filter((m) => !m.includes('serviceaccount')), ['/shared', '/scratch', '/etc/training', '/var/run/creds']);
    assert.equal(c.securityContext?.runAsUser, 1000);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.equal(c.terminationMessagePath, '/airflow/xcom/return.json');
    assert.equal(c.workingDir, '/app', 'podTemplate merged into the container');
    assert.equal(spec.hostname, 'trainer', 'podTemplate merged into the pod');
    assert.equal(spec.restartPolicy, 'Never');
    assert.deepEqual(spec.nodeSelector, { 'node-pool': 'ml-training' });
    assert.ok(spec.tolerations?.some((t) => t.key === 'nvidia.com/gpu' && t.operator === 'Exists' && t.effect === 'NoSchedule'));
    assert.deepEqual(spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values, ['a100']);
    assert.equal(spec.volumes?.find((v) => v.name === 'shared-data')?.persistentVolumeClaim?.claimName, 'ml-shared-pvc');
    assert.equal(spec.volumes?.find((v) => v.name === 'scratch')?.emptyDir?.sizeLimit, '1Gi');
    assert.deepEqual(spec.imagePullSecrets?.map((s) => s.name), ['registry-cred']);
    assert.equal(spec.serviceAccountName, 'trainer');
    assert.equal(spec.priorityClassName, 'ml-high');
    assert.equal(spec.priority, 1000);
    assert.equal(spec.securityContext?.fsGroup, 2000);
    assert.equal(spec.nodeName, 'gpu-a100-0', 'the affinity picked the A100 node');
    assert.equal(pod.metadata?.namespace, 'ml-training');
    assert.equal(pod.metadata?.labels?.team, 'ml');
    assert.equal(pod.metadata?.labels?.['trainyard.io/step'], 'train');
    assert.equal(pod.metadata?.annotations?.['example.com/owner'], 'ml-team');
  });

  it('places GPU pods only on GPU nodes and CPU pods never there', async () => {
    const { state, error } = await runToEnd(env, worker, placement, { runner: 'kubernetes' });
    assert.equal(error, undefined, error);
    const pods = await podsOfRun(cluster, 'default', state.run.runId);
    assert.equal(pods.length, 8);
    for (const pod of pods) {
      const gpu = pod.metadata?.labels?.['trainyard.io/step']?.startsWith('gpu_');
      assert.equal(pod.spec?.nodeName?.startsWith('gpu-'), gpu, `${pod.metadata?.name} on ${pod.spec?.nodeName}`);
    }
  });

  it('reports each way a pod can fail, clearly, with the right retry behaviour', async () => {
    const { state } = await runToEnd(env, worker, outcomes, { runner: 'kubernetes' });
    assert.deepEqual(step(state, 'report').output, { accuracy: 0.97, text: 'model s3://m/1' });

    const oom = step(state, 'oom');
    assert.equal(oom.state, 'failed');
    assert.equal(oom.attempt, 2, 'an application failure follows the retry policy');
    assert.match(oom.error ?? '', /exit code 137, reason OOMKilled; last log lines:\n.*epoch 3\/3 loss 0\.0412\ndone/s);

    assert.match(step(state, 'evicted').error ?? '', /reason Evicted \(the node, not the program/);

    const badImage = step(state, 'bad_image');
    assert.equal(badImage.attempt, 1, 'an image error is not retried');
    assert.match(badImage.error ?? '', /cannot start: ErrImagePull/);

    const tooBig = step(state, 'too_big');
    assert.match(tooBig.error ?? '', /was not scheduled within 2\.0s: 0\/4 nodes are available: .*Insufficient nvidia\.com\/gpu/);

    assert.match(step(state, 'bad_xcom').error ?? '', /termination message .* is not valid JSON/);
    assert.equal(step(state, 'bad_xcom').attempt, 1);

    const invalid = step(state, 'invalid_manifest');
    assert.equal(invalid.attempt, 1, 'the API server rejecting the manifest is not retried');
    assert.match(invalid.error ?? '', /restartPolicy/);

    const left = await podsOfRun(cluster, 'default', state.run.runId);
    assert.deepEqual(left.map((p) => p.metadata?.name), [], 'every pod was cleaned up (delete_pod is the default)');
  });

  it('applies each onFinishAction', async () => {
    const { state } = await runToEnd(env, worker, finishing, { runner: 'kubernetes' });
    const left = (await podsOfRun(cluster, 'default', state.run.runId)).map((p) => p.metadata?.labels?.['trainyard.io/step']).sort();
    assert.deepEqual(left, ['delete_succeeded_failed', 'keep_pod']);
  });

  it('re-attaches to the same pod when its worker is killed and another takes over', async () => {
    const queue = {
      TEMPORAL_ADDRESS: env.address,
      TRAINYARD_TASK_QUEUE: 'pod-reattach',
      TRAINYARD_PIPELINES: 'test/fixtures/pod-reattach-pipeline.js',
      TRAINYARD_STATE_DIR: tempStateDir(),
      KUBECONFIG: cluster.kubeconfigPath,
    };
    const first = spawnNode(WORKER_MAIN, queue);
    await eventually('the first worker to start', () => (first.output().stdout.includes('trainyard worker on') ? true : undefined), 30_000);
    const handle = await env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: 'pod-reattach',
      workflowId: `pod-reattach-${Date.now()}`,
      args: [{ spec: reattach.spec, runner: 'kubernetes' }],
    });
    const running = await eventually('the pod to run', async () => {
      const [pod] = await podsOfRun(cluster, 'default', handle.workflowId);
      return pod?.status?.phase === 'Running' ? pod : undefined;
    }, 30_000);
    first.child.kill('SIGKILL');
    await exitCode(first.child);
    const second = spawnNode(WORKER_MAIN, queue);
    try {
      const result = (await handle.result()) as RunState;
      const train = result.steps.find((s) => s.id === 'train');
      assert.equal(train?.state, 'success');
      assert.equal(train?.attempt, 1, 'the lost try resumed; it did not count as a failure');
      assert.deepEqual(train?.output, { accuracy: 0.91 });
      const pods = await podsOfRun(cluster, 'default', handle.workflowId);
      assert.equal(pods.length, 1, 'exactly one pod ever existed for the try');
      assert.equal(pods[0]?.metadata?.uid, running.metadata?.uid, 'and it is the pod the first worker created');
      assert.match(second.output().stdout, /re-attached/);
    } finally {
      second.child.kill('SIGTERM');
      await exitCode(second.child);
    }
  });

  it('runs pod steps with nothing more than the Role in deploy/rbac.yaml', async () => {
    const client = KubernetesObjectApi.makeApiClient(cluster.kc);
    await cluster.core.createNamespace({ body: { metadata: { name: 'trainyard' } } });
    for (const object of loadAllYaml(readFileSync(path.join(PROJECT_ROOT, 'deploy', 'rbac.yaml'), 'utf8')) as KubernetesObject[]) {
      await client.create(object);
    }
    const { status } = await cluster.core.createNamespacedServiceAccountToken({
      namespace: 'trainyard',
      name: 'trainyard-worker',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    const kubeconfigPath = writeKubeconfig(path.join(tempStateDir(), 'kubeconfig'), cluster.server, status?.token ?? '');
    const limited = await startWorker(env, [scoped], { kubeconfigPath });
    try {
      const { state } = await runToEnd(env, limited, scoped, { runner: 'kubernetes' });
      assert.equal(step(state, 'allowed').state, 'success');
      assert.deepEqual(step(state, 'allowed').output, { ok: true });
      assert.equal(step(state, 'elsewhere').state, 'failed');
      assert.match(step(state, 'elsewhere').error ?? '', /forbidden/i);
    } finally {
      await limited.stop();
    }
  });

  it('runs the flagship example as pods, its results passed on through termination messages', async () => {
    const { state, error } = await runToEnd(env, worker, kwokExample, { runner: 'kubernetes', params: { threshold: 0.95 } });
    assert.equal(error, undefined, error);
    assert.equal(step(state, 'deploy_model').state, 'success');
    assert.equal(step(state, 'skip_deployment').state, 'skipped');
    assert.deepEqual(step(state, 'deployment_decision').chosen, ['approve_deployment']);
    assert.equal(step(state, 'promote_model').state, 'success');
    assert.equal((step(state, 'model_training.evaluate_model').output as { accuracy: number }).accuracy, 0.9778);
    assert.equal(step(state, 'model_training.train_model').map?.succeeded, 12, 'one training pod per grid point');
    assert.deepEqual(await podsOfRun(cluster, 'ml-training', state.run.runId), [], 'the pods were deleted when their steps ended');
    assert.match(String(sink.messages.at(-1)?.body.text), /production-model version 1, test accuracy 0.9778; .*approval: approved; deployed version: 1$/);
  });

  it('deletes the pod, and waits until it is gone, when the run is cancelled', async () => {
    const handle = await startRun(env, worker, forever, { runner: 'kubernetes' });
    const runId = handle.workflowId;
    await eventually('the pod to run', async () => ((await podsOfRun(cluster, 'default', runId))[0]?.status?.phase === 'Running' ? true : undefined), 30_000);
    await handle.cancel();
    await assert.rejects(handle.result());
    assert.deepEqual(await podsOfRun(cluster, 'default', runId), [], 'no pod is left when the run has ended');
    assert.equal((await handle.query(runStateQuery)).status, 'cancelled');
  });
});
