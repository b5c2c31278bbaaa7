/**
 * The pure pod builder: a rendered `pod` step config in, a V1Pod out. No I/O.
 * The container writes its XCom to /airflow/xcom/return.json, which is also its
 * terminationMessagePath, so Airflow-era training code works unchanged and the
 * result comes back with the pod's status (no sidecar; at most 4 KiB).
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { PodConfig } from '../../pipeline';
import { ARTIFACTS_URI_ENV, type ArtifactsOptions, artifactsUri } from '../artifacts';
import { ANNOTATIONS, type PodIdentity, identityKey, podLabels, podName } from './naming';

export const CONTAINER_NAME = 'base';
export const XCOM_PATH = '/airflow/xcom/return.json';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Merges `over` into `base`: objects key by key, arrays of named items by name, anything else replaced. */
export function mergeTemplate(base: unknown, over: unknown): unknown {
  if (isPlainObject(base) && isPlainObject(over)) {
    const merged: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) merged[key] = key in base ? mergeTemplate(base[key], value) : value;
    return merged;
  }
  const named = (items: unknown): items is { name: string }[] =>
    Array.isArray(items) && items.every((i) => isPlainObject(i) && typeof i.name === 'string');
  if (named(base) && named(over)) {
    const result = base.map((item) => {
      const match = over.find((o) => o.name === item.name);
      return match ? mergeTemplate(item, match) : item;
    });
    return [...result, ...over.filter((o) => !base.some((b) => b.name === o.name))];
  }
  return over;
}

/**
 * Builds the pod for one try of a pod step. With `artifacts` (the worker's store),
 * the container gets its `TRAINYARD_ARTIFACTS_URI`, the store's endpoint and region
 * before the step's own `env`, and the store's credentials Secret before the
 * step's own `envFrom`, so the step's settings win where both name a variable.
 * `tryEnv` (the try's MLflow run, say) comes last: it is the try's own.
 */
export function buildPod(id: PodIdentity, config: PodConfig, defaultNamespace: string, artifacts?: ArtifactsOptions, tryEnv: Record<string, string> = {}): V1Pod {
  const storeEnv = Object.entries(artifacts?.env ?? {}).map(([name, value]) => ({ name, value }));
  const env = (config.env ?? []).map((e) => (e.value !== undefined ? { name: e.name, value: e.value } : { name: e.name, valueFrom: e.valueFrom }));
  const trainyardEnv = [
    { name: 'TRAINYARD_XCOM_PATH', value: XCOM_PATH },
    ...(artifacts ? [{ name: ARTIFACTS_URI_ENV, value: artifactsUri(artifacts.baseUri, id) }] : []),
    ...Object.entries(tryEnv).map(([name, value]) => ({ name, value })),
  ];
  const envFrom = [...(artifacts?.podSecret ? [{ secretRef: { name: artifacts.podSecret } }] : []), ...(config.envFrom ?? [])];
  const container: Record<string, unknown> = {
    name: CONTAINER_NAME,
    image: config.image,
    ...(config.cmds ? { command: config.cmds } : {}),
    ...(config.arguments ? { args: config.arguments } : {}),
    env: [...storeEnv, ...env, ...trainyardEnv],
    ...(envFrom.length ? { envFrom } : {}),
    ...(config.resources ? { resources: config.resources } : {}),
    ...(config.volumeMounts ? { volumeMounts: config.volumeMounts } : {}),
    ...(config.securityContext ? { securityContext: config.securityContext } : {}),
    terminationMessagePath: XCOM_PATH,
    terminationMessagePolicy: 'File',
  };
  const spec: Record<string, unknown> = {
    restartPolicy: 'Never',
    containers: [container],
    ...(config.nodeSelector ? { nodeSelector: config.nodeSelector } : {}),
    ...(config.tolerations ? { tolerations: config.tolerations } : {}),
    ...(config.affinity ? { affinity: config.affinity } : {}),
    ...(config.volumes ? { volumes: config.volumes } : {}),
    ...(config.imagePullSecrets ? { imagePullSecrets: config.imagePullSecrets.map((name) => ({ name })) } : {}),
    ...(config.serviceAccountName ? { serviceAccountName: config.serviceAccountName } : {}),
    ...(config.priorityClassName ? { priorityClassName: config.priorityClassName } : {}),
    ...(config.podSecurityContext ? { securityContext: config.podSecurityContext } : {}),
  };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName(id),
      namespace: config.namespace ?? defaultNamespace,
      labels: { ...config.labels, ...podLabels(id) },
      annotations: { ...config.annotations, [ANNOTATIONS.identity]: identityKey(id) },
    },
    spec,
  };
  if (!config.podTemplate) return pod as unknown as V1Pod;
  const merged = mergeTemplate(pod, config.podTemplate) as V1Pod;
  // The override may add to metadata, never change who the pod is.
  merged.metadata = { ...merged.metadata, name: pod.metadata.name, namespace: pod.metadata.namespace };
  merged.metadata.labels = { ...merged.metadata.labels, ...pod.metadata.labels };
  merged.metadata.annotations = { ...merged.metadata.annotations, [ANNOTATIONS.identity]: identityKey(id) };
  return merged;
}
