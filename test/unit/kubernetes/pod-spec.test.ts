import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { PodConfig } from '../../../pipeline';
import { ANNOTATIONS, LABELS, identityKey as identityKeyOf, podLabels as podLabelsOf, podName as podNameOf } from '../../../activities/kubernetes/naming';
import { CONTAINER_NAME, XCOM_PATH, buildPod as buildPodOf, mergeTemplate } from '../../../activities/kubernetes/pod-spec';
import { type FlatIdentity as PodIdentity, nested } from '../../support/identity';

const podName = (id: PodIdentity): string => podNameOf(nested(id));
const podLabels = (id: PodIdentity): Record<string, string> => podLabelsOf(nested(id));
const identityKey = (id: PodIdentity): string => identityKeyOf(nested(id));
const buildPod = (id: PodIdentity, ...rest: Parameters<typeof buildPodOf> extends [unknown, ...infer R] ? R : never): V1Pod => buildPodOf(nested(id), ...rest);

const id: PodIdentity = { pipelineId: 'ml_training', runId: 'run-1', stepId: 'training.train_model', attempt: 2, mapIndex: 1 };

function mainContainer(pod: V1Pod): V1Container {
  const container = pod.spec?.containers.find((c) => c.name === CONTAINER_NAME);
  assert.ok(container, 'the pod has its main container');
  return container;
}

/** A config that sets every field buildPod reads. */
function fullConfig(): PodConfig {
  return {
    image: 'registry.example.com/train:1.2',
    cmds: ['python', '-m', 'train'],
    arguments: ['--epochs', '3'],
    env: [
      { name: 'PLAIN', value: 'x' },
      { name: 'EMPTY', value: '' },
      { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
      { name: 'FROM_MAP', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
    ],
    envFrom: [{ secretRef: { name: 'all-creds' } }, { configMapRef: { name: 'all-cfg' }, prefix: 'CFG_' }],
    resources: { requests: { cpu: '2', memory: '4Gi' }, limits: { 'nvidia.com/gpu': '1' } },
    tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }],
    nodeSelector: { 'node.kubernetes.io/instance-type': 'g5.xlarge' },
    affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } } },
    volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'datasets' } }],
    volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
    imagePullSecrets: ['regcred', 'other'],
    serviceAccountName: 'trainer',
    labels: { team: 'ml', [LABELS.step]: 'spoofed' },
    annotations: { note: 'hello', [ANNOTATIONS.identity]: 'spoofed' },
    namespace: 'training',
    priorityClassName: 'high',
    securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false },
    podSecurityContext: { fsGroup: 1000 },
    scheduleTimeout: '10m',
    startupTimeout: '2m',
    getLogs: false,
    onFinishAction: 'keep_pod',
    xcom: true,
  };
}

describe('buildPod: a minimal config', () => {
  const pod = buildPod(id, { image: 'busybox' }, 'default-ns');

  it('is a v1 Pod named and labelled after the identity', () => {
    assert.equal(pod.apiVersion, 'v1');
    assert.equal(pod.kind, 'Pod');
    assert.equal(pod.metadata?.name, podName(id));
    assert.deepEqual(pod.metadata?.labels, podLabels(id));
    assert.deepEqual(pod.metadata?.annotations, { [ANNOTATIONS.identity]: identityKey(id) });
  });

  it('goes into the worker default namespace', () => {
    assert.equal(pod.metadata?.namespace, 'default-ns');
  });

  it('never restarts and has exactly one container, the main one', () => {
    assert.equal(pod.spec?.restartPolicy, 'Never');
    assert.equal(pod.spec?.containers.length, 1);
    assert.equal(pod.spec?.containers[0]?.name, CONTAINER_NAME);
    assert.equal(CONTAINER_NAME, 'base');
  });

  it('reads the XCom back through the termination message file', () => {
    const container = mainContainer(pod);
    assert.equal(XCOM_PATH, '/airflow/xcom/return.json');
    assert.equal(container.terminationMessagePath, XCOM_PATH);
    assert.equal(container.terminationMessagePolicy, 'File');
    assert.deepEqual(container.env, [{ name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH }]);
    assert.equal(container.image, 'busybox');
  });

  it('leaves out every optional field that was not given', () => {
    const container = mainContainer(pod) as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(container).sort(), ['env', 'image', 'name', 'terminationMessagePath', 'terminationMessagePolicy']);
    const spec = pod.spec as unknown as Record<string, unknown>;
    assert.deepEqual(Object.keys(spec).sort(), ['containers', 'restartPolicy']);
    assert.deepEqual(Object.keys(pod.metadata ?? {}).sort(), ['annotations', 'labels', 'name', 'namespace']);
  });

  it('survives a JSON round trip unchanged (no undefined or shared oddities)', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(pod)), pod);
  });
});

describe('buildPod: every field in its place', () => {
  const config = fullConfig();
  const pod = buildPod(id, config, 'default-ns');
  const container = mainContainer(pod);
  const spec = pod.spec;

  it('uses the explicit namespace', () => {
    assert.equal(pod.metadata?.namespace, 'training');
  });

  it('sets image, command and args on the container', () => {
    assert.equal(container.image, 'registry.example.com/train:1.2');
    assert.deepEqual(container.command, ['python', '-m', 'train']);
    assert.deepEqual(container.args, ['--epochs', '3']);
  });

  it('passes env values and references through, in order, then adds the XCom path', () => {
    assert.deepEqual(container.env, [
      { name: 'PLAIN', value: 'x' },
      { name: 'EMPTY', value: '' },
      { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'token' } } },
      { name: 'FROM_MAP', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'mode' } } },
      { name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH },
    ]);
  });

  it('prefers the value when an env entry has both a value and a reference', () => {
    const both = buildPod(id, { image: 'i', env: [{ name: 'A', value: 'v', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }] }, 'ns');
    assert.deepEqual(mainContainer(both).env?.[0], { name: 'A', value: 'v' });
  });

  it('puts envFrom, resources, volume mounts and the container security context on the container', () => {
    assert.deepEqual(container.envFrom, config.envFrom);
    assert.deepEqual(container.resources, config.resources);
    assert.deepEqual(container.volumeMounts, config.volumeMounts);
    assert.deepEqual(container.securityContext, { runAsNonRoot: true, allowPrivilegeEscalation: false });
  });

  it('puts the pod security context on the pod, not the container', () => {
    assert.deepEqual(spec?.securityContext, { fsGroup: 1000 });
    assert.notDeepEqual(container.securityContext, spec?.securityContext);
  });

  it('puts scheduling fields on the pod spec', () => {
    assert.deepEqual(spec?.nodeSelector, { 'node.kubernetes.io/instance-type': 'g5.xlarge' });
    assert.deepEqual(spec?.tolerations, config.tolerations);
    assert.deepEqual(spec?.affinity, config.affinity);
    assert.equal(spec?.priorityClassName, 'high');
    assert.equal(spec?.serviceAccountName, 'trainer');
  });

  it('puts volumes on the pod spec', () => {
    assert.deepEqual(spec?.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'datasets' } }]);
  });

  it('turns image pull secret names into references', () => {
    assert.deepEqual(spec?.imagePullSecrets, [{ name: 'regcred' }, { name: 'other' }]);
  });

  it('adds user labels and annotations, but Trainyard keeps its own keys', () => {
    assert.equal(pod.metadata?.labels?.team, 'ml');
    assert.equal(pod.metadata?.labels?.[LABELS.step], 'training.train_model');
    for (const [key, value] of Object.entries(podLabels(id))) assert.equal(pod.metadata?.labels?.[key], value, key);
    assert.equal(pod.metadata?.annotations?.note, 'hello');
    assert.equal(pod.metadata?.annotations?.[ANNOTATIONS.identity], identityKey(id));
  });

  it('keeps worker-side options out of the pod', () => {
    const text = JSON.stringify(pod);
    for (const key of ['scheduleTimeout', 'startupTimeout', 'getLogs', 'onFinishAction', 'xcom', 'podSecurityContext', 'cmds', 'arguments']) {
      assert.ok(!text.includes(`"${key}"`), key);
    }
  });

  it('does not change the config it was given', () => {
    assert.deepEqual(config, fullConfig());
  });

  it('builds the same pod twice from the same input', () => {
    assert.deepEqual(buildPod(id, fullConfig(), 'default-ns'), pod);
  });

  it('uses the default namespace when the config names none, whatever else it sets', () => {
    const config = fullConfig();
    delete config.namespace;
    assert.equal(buildPod(id, config, 'fallback').metadata?.namespace, 'fallback');
  });
});

describe('mergeTemplate', () => {
  it('merges objects key by key, recursively', () => {
    assert.deepEqual(mergeTemplate({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 4, e: 5 }, f: 6 }), { a: 1, b: { c: 2, d: 4, e: 5 }, f: 6 });
  });

  it('replaces scalars, and values of a different shape', () => {
    assert.equal(mergeTemplate(1, 2), 2);
    assert.equal(mergeTemplate('a', null), null);
    assert.deepEqual(mergeTemplate({ a: { b: 1 } }, { a: 'flat' }), { a: 'flat' });
    assert.deepEqual(mergeTemplate({ a: 'flat' }, { a: { b: 1 } }), { a: { b: 1 } });
  });

  it('merges arrays of named items by name and appends new names', () => {
    const merged = mergeTemplate(
      [{ name: 'a', image: 'x', ports: 1 }, { name: 'b', image: 'y' }],
      [{ name: 'b', image: 'z' }, { name: 'c', image: 'w' }],
    );
    assert.deepEqual(merged, [{ name: 'a', image: 'x', ports: 1 }, { name: 'b', image: 'z' }, { name: 'c', image: 'w' }]);
  });

  it('replaces arrays whose items are not all named', () => {
    assert.deepEqual(mergeTemplate([1, 2, 3], [4]), [4]);
    assert.deepEqual(mergeTemplate([{ key: 'a' }], [{ key: 'b' }]), [{ key: 'b' }]);
    assert.deepEqual(mergeTemplate([{ name: 'a' }], [{ key: 'b' }]), [{ key: 'b' }]);
  });

  it('does not change either input', () => {
    const base = { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '1' }] }] } };
    const over = { spec: { containers: [{ name: 'a', env: [{ name: 'X', value: '2' }] }] } };
    const baseCopy = structuredClone(base);
    const overCopy = structuredClone(over);
    mergeTemplate(base, over);
    assert.deepEqual(base, baseCopy);
    assert.deepEqual(over, overCopy);
  });
});

describe('buildPod with a podTemplate', () => {
  it('merges the main container by name and keeps what the template does not mention', () => {
    const pod = buildPod(id, {
      image: 'train:1',
      env: [{ name: 'A', value: '1' }],
      podTemplate: { spec: { containers: [{ name: CONTAINER_NAME, imagePullPolicy: 'Always', env: [{ name: 'A', value: 'over' }, { name: 'B', value: '2' }] }] } },
    }, 'ns');
    assert.equal(pod.spec?.containers.length, 1);
    const container = mainContainer(pod);
    assert.equal(container.image, 'train:1');
    assert.equal(container.imagePullPolicy, 'Always');
    assert.equal(container.terminationMessagePath, XCOM_PATH);
    assert.deepEqual(container.env, [
      { name: 'A', value: 'over' },
      { name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH },
      { name: 'B', value: '2' },
    ]);
  });

  it('appends a sidecar container and keeps the main one first', () => {
    const pod = buildPod(id, { image: 'train:1', podTemplate: { spec: { containers: [{ name: 'sidecar', image: 'proxy:2' }] } } }, 'ns');
    assert.deepEqual(pod.spec?.containers.map((c) => [c.name, c.image]), [[CONTAINER_NAME, 'train:1'], ['sidecar', 'proxy:2']]);
  });

  it('merges named volumes and adds ones the config lacks', () => {
    const pod = buildPod(id, {
      image: 'i',
      volumes: [{ name: 'data', emptyDir: {} }],
      podTemplate: { spec: { volumes: [{ name: 'data', emptyDir: { medium: 'Memory' } }, { name: 'shm', emptyDir: {} }] } },
    }, 'ns');
    assert.deepEqual(pod.spec?.volumes, [{ name: 'data', emptyDir: { medium: 'Memory' } }, { name: 'shm', emptyDir: {} }]);
  });

  it('adds pod fields the config does not model and replaces scalars it sets', () => {
    const pod = buildPod(id, {
      image: 'i',
      serviceAccountName: 'from-config',
      podTemplate: { spec: { hostNetwork: true, serviceAccountName: 'from-template', activeDeadlineSeconds: 600, tolerations: [{ key: 'x', operator: 'Exists' }] } },
      tolerations: [{ key: 'y', operator: 'Exists' }],
    }, 'ns');
    assert.equal(pod.spec?.hostNetwork, true);
    assert.equal(pod.spec?.serviceAccountName, 'from-template');
    assert.equal(pod.spec?.activeDeadlineSeconds, 600);
    assert.deepEqual(pod.spec?.tolerations, [{ key: 'x', operator: 'Exists' }]);
    assert.equal(pod.spec?.restartPolicy, 'Never');
  });

  it('lets the template add labels and annotations', () => {
    const pod = buildPod(id, {
      image: 'i',
      labels: { team: 'ml' },
      annotations: { a: '1' },
      podTemplate: { metadata: { labels: { cost: 'gpu' }, annotations: { b: '2' } } },
    }, 'ns');
    assert.equal(pod.metadata?.labels?.team, 'ml');
    assert.equal(pod.metadata?.labels?.cost, 'gpu');
    assert.deepEqual(pod.metadata?.annotations, { a: '1', b: '2', [ANNOTATIONS.identity]: identityKey(id) });
  });

  it('cannot change the name, namespace, Trainyard labels or identity annotation', () => {
    const spoofedLabels = Object.fromEntries(Object.keys(podLabels(id)).map((key) => [key, 'spoofed']));
    const pod = buildPod(id, {
      image: 'i',
      namespace: 'chosen',
      podTemplate: {
        metadata: {
          name: 'other-name',
          namespace: 'other-ns',
          labels: { ...spoofedLabels, extra: 'yes' },
          annotations: { [ANNOTATIONS.identity]: 'spoofed', extra: 'yes' },
        },
      },
    }, 'ns');
    assert.equal(pod.metadata?.name, podName(id));
    assert.equal(pod.metadata?.namespace, 'chosen');
    for (const [key, value] of Object.entries(podLabels(id))) assert.equal(pod.metadata?.labels?.[key], value, key);
    assert.equal(pod.metadata?.labels?.extra, 'yes');
    assert.equal(pod.metadata?.annotations?.[ANNOTATIONS.identity], identityKey(id));
    assert.equal(pod.metadata?.annotations?.extra, 'yes');
  });

  it('keeps the default namespace against a template namespace too', () => {
    const pod = buildPod(id, { image: 'i', podTemplate: { metadata: { namespace: 'elsewhere' } } }, 'default-ns');
    assert.equal(pod.metadata?.namespace, 'default-ns');
  });

  it('restores identity even when the template wipes metadata', () => {
    const pod = buildPod(id, { image: 'i', podTemplate: { metadata: null } }, 'ns');
    assert.equal(pod.metadata?.name, podName(id));
    assert.equal(pod.metadata?.namespace, 'ns');
    assert.deepEqual(pod.metadata?.labels, podLabels(id));
    assert.deepEqual(pod.metadata?.annotations, { [ANNOTATIONS.identity]: identityKey(id) });
  });

  it('does not change the template it was given', () => {
    const podTemplate = { metadata: { labels: { a: 'b' }, name: 'x' }, spec: { containers: [{ name: CONTAINER_NAME, env: [{ name: 'Z', value: 'z' }] }] } };
    const copy = structuredClone(podTemplate);
    const pod = buildPod(id, { image: 'i', podTemplate }, 'ns');
    assert.deepEqual(podTemplate, copy);
    assert.equal(pod.metadata?.name, podName(id));
  });
});

describe('buildPod with the artifact store', () => {
  const store = { baseUri: 's3://trainyard-artifacts/team', env: { AWS_ENDPOINT_URL: 'http://minio.storage:9000', AWS_REGION: 'eu-west-1' }, podSecret: 'artifact-store' };
  const uri = `s3://trainyard-artifacts/team/ml_training/run-1/training.train_model/1/`;

  it('gives the container its try\'s TRAINYARD_ARTIFACTS_URI, after the XCom path', () => {
    const env = mainContainer(buildPod(id, { image: 'i' }, 'ns', { baseUri: 's3://trainyard-artifacts/team' })).env;
    assert.deepEqual(env, [
      { name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH },
      { name: 'TRAINYARD_ARTIFACTS_URI', value: uri },
    ]);
  });

  it('is the same prefix for every try, and a plain step has no index in it', () => {
    const uriOf = (pod: V1Pod): string | undefined => mainContainer(pod).env?.find((e) => e.name === 'TRAINYARD_ARTIFACTS_URI')?.value;
    assert.equal(uriOf(buildPod({ ...id, attempt: 5 }, { image: 'i' }, 'ns', store)), uri);
    const plain: PodIdentity = { pipelineId: id.pipelineId, runId: id.runId, stepId: id.stepId, attempt: id.attempt };
    assert.equal(uriOf(buildPod(plain, { image: 'i' }, 'ns', store)), 's3://trainyard-artifacts/team/ml_training/run-1/training.train_model/');
  });

  it('puts the store\'s endpoint and region before the step\'s env, so the step can override them', () => {
    const pod = buildPod(id, { image: 'i', env: [{ name: 'AWS_REGION', value: 'us-west-2' }, { name: 'PLAIN', value: 'x' }] }, 'ns', store);
    assert.deepEqual(mainContainer(pod).env, [
      { name: 'AWS_ENDPOINT_URL', value: 'http://minio.storage:9000' },
      { name: 'AWS_REGION', value: 'eu-west-1' },
      { name: 'AWS_REGION', value: 'us-west-2' },
      { name: 'PLAIN', value: 'x' },
      { name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH },
      { name: 'TRAINYARD_ARTIFACTS_URI', value: uri },
    ]);
  });

  it('adds the credentials Secret as the first envFrom source, before the step\'s own', () => {
    assert.deepEqual(mainContainer(buildPod(id, { image: 'i' }, 'ns', store)).envFrom, [{ secretRef: { name: 'artifact-store' } }]);
    const config = fullConfig();
    assert.deepEqual(mainContainer(buildPod(id, config, 'ns', store)).envFrom, [{ secretRef: { name: 'artifact-store' } }, ...(config.envFrom ?? [])]);
  });

  it('adds no endpoint, region or envFrom the worker was not given', () => {
    const container = mainContainer(buildPod(id, { image: 'i' }, 'ns', { baseUri: 's3://b', env: {} }));
    assert.deepEqual(container.env?.map((e) => e.name), ['TRAINYARD_XCOM_PATH', 'TRAINYARD_ARTIFACTS_URI']);
    assert.equal('envFrom' in container, false);
  });

  it('keeps the store settings when a podTemplate overrides the container', () => {
    const pod = buildPod(id, { image: 'i', podTemplate: { spec: { containers: [{ name: CONTAINER_NAME, env: [{ name: 'EXTRA', value: '1' }] }] } } }, 'ns', store);
    const names = mainContainer(pod).env?.map((e) => e.name);
    assert.deepEqual(names, ['AWS_ENDPOINT_URL', 'AWS_REGION', 'TRAINYARD_XCOM_PATH', 'TRAINYARD_ARTIFACTS_URI', 'EXTRA']);
    assert.deepEqual(mainContainer(pod).envFrom, [{ secretRef: { name: 'artifact-store' } }]);
  });
});
