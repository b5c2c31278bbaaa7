/**
 * A real Kubernetes control plane on 127.0.0.1 for tests, the demo and the
 * benchmarks: etcd, kube-apiserver, kube-scheduler and kube-controller-manager
 * (built from Go modules by scripts/kube-build.sh), with KWOK playing the nodes
 * and their kubelets (deploy/local-cluster/kwok-stages.yaml). Ports are free
 * ones chosen at start, so several clusters can run side by side.
 *
 *   const cluster = await startLocalCluster({ dir, binDir });
 *   ... KubeConfig.loadFromFile(cluster.kubeconfigPath) ...
 *   await cluster.stop();
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { get as httpGet } from 'node:http';
import path from 'node:path';
import { PROJECT_ROOT } from '../worker/config';
import { freePort } from './ports';
import { serveUntilSignalled } from './serve-cli';

export interface LocalCluster {
  dir: string;
  server: string;
  token: string;
  kubeconfigPath: string;
  stop(): Promise<void>;
}

export interface LocalClusterOptions {
  /** Where state, logs and the kubeconfig go. */
  dir: string;
  /** Where the binaries are (default: <state>/kube-bin from the bootstrap). */
  binDir?: string;
  /** How long to wait for the control plane. @default 90000 */
  timeoutMs?: number;
}

interface LocalNode {
  name: string;
  labels: Record<string, string>;
  capacity: Record<string, string>;
  taints?: { key: string; value: string; effect: string }[];
}

/** The simulated nodes: a CPU pool and a tainted GPU pool, as a training cluster has. */
const LOCAL_NODES: LocalNode[] = [
  { name: 'cpu-0', labels: { 'node-pool': 'cpu' }, capacity: { cpu: '16', memory: '64Gi', pods: '110' } },
  { name: 'cpu-1', labels: { 'node-pool': 'cpu' }, capacity: { cpu: '16', memory: '64Gi', pods: '110' } },
  ...['a100', 'h100'].map((type) => ({
    name: `gpu-${type}-0`,
    labels: { 'node-pool': 'ml-training', 'gpu-type': type },
    capacity: { cpu: '64', memory: '512Gi', pods: '110', 'nvidia.com/gpu': '8' },
    taints: [{ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' }],
  })),
];

/** Namespaces the example and tests use, besides default. */
export const LOCAL_NAMESPACES = ['ml-training', 'ml-serving'];

/**
 * Namespaces whose containers log intermediate metrics, well above or well below
 * each other, so early stopping can be tested where no program runs: a mapped pod
 * step picks its index's namespace (`namespace: '{{ map.ns }}'`) and with it the curve.
 */
export const METRIC_NAMESPACES = { high: 'sim-metrics-high', low: 'sim-metrics-low' } as const;

/** The metric those containers report, at steps 1 to 10. */
export const SIMULATED_METRIC = 'val_accuracy';

/** The example's shared volume claim, bound to a local volume in each of its namespaces. */
export const SHARED_CLAIM = 'ml-shared-pvc';

/** Writes a kubeconfig for a bearer token against the local API server (its certificate is self-signed). */
export function writeKubeconfig(file: string, server: string, token: string): string {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'user', user: { token } }],
      contexts: [{ name: 'local', context: { cluster: 'local', user: 'user', namespace: 'default' } }],
      'current-context': 'local',
    }),
  );
  return file;
}

/** One call to the API server with the cluster's token (its certificate is self-signed). */
function api(server: string, token: string, method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${apiPath}`,
      { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, rejectUnauthorized: false },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function until(what: string, deadline: number, check: () => Promise<boolean>, processes: readonly ChildProcess[], dir: string): Promise<void> {
  for (;;) {
    const dead = processes.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`${what}: ${String(dead.spawnfile)} exited with ${dead.exitCode}; see the logs in ${dir}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} did not happen in time; see the logs in ${dir}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** What a simulated container prints, outside the metric namespaces: a short training log. */
const SIMULATED_LOG_LINES = ['loading data from /shared/data', 'epoch 1/3 loss 0.5210', 'epoch 2/3 loss 0.1874', 'epoch 3/3 loss 0.0412', 'done'];

/** A training log with a `trainyard.metric` line per step, the metric rising from `from` to `to` over ten steps. */
function metricLogLines(from: number, to: number): string[] {
  const steps = Array.from({ length: 10 }, (_, i) => i + 1);
  const value = (step: number): number => Math.round((from + ((to - from) * (step - 1)) / 9) * 1000) / 1000;
  return ['loading data from /shared/data', ...steps.map((step) => `trainyard.metric ${JSON.stringify({ step, [SIMULATED_METRIC]: value(step) })}`), 'done'];
}

/** Writes lines as a container log in the CRI format, one second apart (the log follower orders lines by time). */
function writeCriLog(file: string, lines: readonly string[]): string {
  const start = Date.parse('2026-01-01T00:00:00Z');
  writeFileSync(file, lines.map((line, i) => `${new Date(start + i * 1000).toISOString()} stdout F ${line}\n`).join(''));
  return file;
}

/** A ClusterLogs rule serving `logFile` as the log of every container of the pods `selector` picks. */
function clusterLogs(name: string, selector: string, logFile: string): string {
  return ['---', 'apiVersion: kwok.x-k8s.io/v1alpha1', 'kind: ClusterLogs', 'metadata:', `  name: ${name}`, 'spec:',
    `  selector: ${selector}`, '  logs:', '  - containers: []', `    logsFile: ${JSON.stringify(logFile)}`, '    follow: false', ''].join('\n');
}

/**
 * The stages file plus the ClusterLogs rules: the metric namespaces' curves, then
 * one simulated training log for every other pod. KWOK serves a container the
 * first rule, in the order of this file, whose selector matches its pod
 * (getPodLogs in kwok's pkg/kwok/server/debugging_logs.go, v0.8), so the
 * catch-all must come last, and it still covers any namespace a test creates.
 */
function writeKwokConfig(dir: string): string {
  const rules = [
    clusterLogs('simulated-metrics-high', `{ matchNamespaces: [${METRIC_NAMESPACES.high}] }`, writeCriLog(path.join(dir, 'metrics-high.log'), metricLogLines(0.5, 0.95))),
    clusterLogs('simulated-metrics-low', `{ matchNamespaces: [${METRIC_NAMESPACES.low}] }`, writeCriLog(path.join(dir, 'metrics-low.log'), metricLogLines(0.1, 0.2))),
    clusterLogs('simulated-training-log', '{}', writeCriLog(path.join(dir, 'container.log'), SIMULATED_LOG_LINES)),
  ];
  const stages = readFileSync(path.join(PROJECT_ROOT, 'deploy', 'local-cluster', 'kwok-stages.yaml'), 'utf8');
  const file = path.join(dir, 'kwok.yaml');
  writeFileSync(file, `${stages}\n${rules.join('')}`);
  return file;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const dir = path.resolve(options.dir);
  const bin = options.binDir ?? path.join(process.env.TRAINYARD_STATE_DIR ?? path.join(PROJECT_ROOT, '.trainyard'), 'kube-bin');
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  mkdirSync(path.join(dir, 'certs'), { recursive: true });

  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  writeFileSync(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  const token = randomBytes(24).toString('hex');
  writeFileSync(path.join(dir, 'tokens.csv'), `${token},trainyard-admin,trainyard-admin,"system:masters"\n`);

  const [etcdClient, etcdPeer, apiPort, schedulerPort, controllerPort, kubeletPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = writeKubeconfig(path.join(dir, 'kubeconfig'), server, token);

  const processes: ChildProcess[] = [];
  const start = (name: string, args: string[]): ChildProcess => {
    const log = createWriteStream(path.join(dir, `${name}.log`));
    const child = spawn(path.join(bin, name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    child.on('error', () => undefined);
    processes.push(child);
    return child;
  };
  const stop = async (): Promise<void> => {
    for (const child of [...processes].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      child.kill('SIGTERM');
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    start('etcd', [
      '--name=local', `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`, `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=local=http://127.0.0.1:${etcdPeer}`, '--quota-backend-bytes=4294967296', '--unsafe-no-fsync',
    ]);
    await until('etcd to answer', deadline, () => new Promise((resolve) => {
      httpGet(`http://127.0.0.1:${etcdClient}/health`, (res) => { res.resume(); resolve(res.statusCode === 200); }).on('error', () => resolve(false));
    }), processes, dir);

    start('kube-apiserver', [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`, '--bind-address=127.0.0.1', '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`, `--cert-dir=${path.join(dir, 'certs')}`, `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
      '--authorization-mode=Node,RBAC', '--service-cluster-ip-range=10.96.0.0/16',
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${path.join(dir, 'sa.pub')}`, `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
      '--allow-privileged=true', '--max-requests-inflight=2000', '--max-mutating-requests-inflight=1000',
      '--enable-priority-and-fairness=false', '--event-ttl=30m', '--kubelet-preferred-address-types=InternalIP',
    ]);
    await until('kube-apiserver to be ready', deadline, async () => (await api(server, token, 'GET', '/readyz')).status === 200, processes, dir);

    const kube = [`--kubeconfig=${kubeconfigPath}`, `--authentication-kubeconfig=${kubeconfigPath}`, `--authorization-kubeconfig=${kubeconfigPath}`, '--bind-address=127.0.0.1', '--leader-elect=false'];
    start('kube-scheduler', [...kube, `--secure-port=${schedulerPort}`]);
    start('kube-controller-manager', [
      ...kube, `--secure-port=${controllerPort}`, `--service-account-private-key-file=${path.join(dir, 'sa.key')}`,
      '--use-service-account-credentials=false', '--controllers=*,-nodeipam,-service,-route,-cloud-node-lifecycle',
      '--kube-api-qps=500', '--kube-api-burst=1000', '--pvclaimbinder-sync-period=1s',
    ]);
    // KWOK also serves the kubelet API (container logs) on kubeletPort, with the API server's own certificate.
    start('kwok', [
      `--kubeconfig=${kubeconfigPath}`, '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      `--config=${writeKwokConfig(dir)}`,
      '--node-ip=127.0.0.1', `--node-port=${kubeletPort}`, `--server-address=127.0.0.1:${kubeletPort}`,
      `--tls-cert-file=${path.join(dir, 'certs', 'apiserver.crt')}`, `--tls-private-key-file=${path.join(dir, 'certs', 'apiserver.key')}`,
      '--node-lease-duration-seconds=40', '--cidr=10.244.0.0/16',
    ]);

    for (const node of LOCAL_NODES) {
      await api(server, token, 'POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: { name: node.name, labels: { ...node.labels, 'kubernetes.io/hostname': node.name, type: 'kwok' }, annotations: { 'kwok.x-k8s.io/node': 'fake' } },
        spec: { taints: node.taints ?? [] },
        status: { capacity: node.capacity, allocatable: node.capacity },
      });
    }
    for (const name of [...LOCAL_NAMESPACES, ...Object.values(METRIC_NAMESPACES)]) {
      await api(server, token, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    }
    await until('the simulated nodes to be Ready', deadline, async () => {
      const nodes = JSON.parse((await api(server, token, 'GET', '/api/v1/nodes')).body) as { items: { status?: { conditions?: { type: string; status: string }[] } }[] };
      return nodes.items.length === LOCAL_NODES.length && nodes.items.every((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    }, processes, dir);
    for (const namespace of LOCAL_NAMESPACES) {
      await api(server, token, 'POST', '/api/v1/persistentvolumes', {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `${namespace}-shared` },
        spec: { capacity: { storage: '100Gi' }, accessModes: ['ReadWriteMany'], hostPath: { path: path.join(dir, 'volumes', namespace) }, storageClassName: '' },
      });
      await api(server, token, 'POST', `/api/v1/namespaces/${namespace}/persistentvolumeclaims`, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: SHARED_CLAIM },
        spec: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '100Gi' } }, storageClassName: '', volumeName: `${namespace}-shared` },
      });
    }
    await until('default service accounts and bound volume claims', deadline, async () => {
      const statuses = await Promise.all(['default', ...LOCAL_NAMESPACES, ...Object.values(METRIC_NAMESPACES)].map((ns) => api(server, token, 'GET', `/api/v1/namespaces/${ns}/serviceaccounts/default`)));
      const claims = await Promise.all(LOCAL_NAMESPACES.map((ns) => api(server, token, 'GET', `/api/v1/namespaces/${ns}/persistentvolumeclaims/${SHARED_CLAIM}`)));
      return statuses.every((s) => s.status === 200) && claims.every((c) => (JSON.parse(c.body) as { status?: { phase?: string } }).status?.phase === 'Bound');
    }, processes, dir);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, server, token, kubeconfigPath, stop };
}

/** `node dist/scripts/local-cluster.js DIR`: runs a cluster until SIGTERM/SIGINT (for the demo). */
if (require.main === module) {
  const dir = process.argv[2] ?? path.join(PROJECT_ROOT, '.trainyard', 'kube');
  serveUntilSignalled('local cluster', startLocalCluster({ dir }), (cluster) => `kubeconfig ${cluster.kubeconfigPath}`);
}
