/** A real local Kubernetes API (with KWOK nodes) per test file, and a client for it. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { type LocalCluster, startLocalCluster } from '../../scripts/local-cluster';

export interface TestCluster extends LocalCluster {
  core: CoreV1Api;
  kc: KubeConfig;
}

export async function startTestCluster(): Promise<TestCluster> {
  const binDir = process.env.TRAINYARD_KUBE_BIN;
  if (!binDir) throw new Error('TRAINYARD_KUBE_BIN is not set; run the tests with npm test, which builds the local cluster');
  const cluster = await startLocalCluster({ dir: mkdtempSync(path.join(tmpdir(), 'trainyard-kube-')), binDir });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return { ...cluster, kc, core: kc.makeApiClient(CoreV1Api) };
}

/** Every pod of a namespace with the given label selector. */
export async function listPods(cluster: TestCluster, namespace: string, labelSelector?: string): Promise<V1Pod[]> {
  return (await cluster.core.listNamespacedPod({ namespace, ...(labelSelector ? { labelSelector } : {}) })).items;
}
