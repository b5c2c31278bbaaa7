/**
 * A thin layer over the core API for pods: create, read, delete (a missing pod
 * counts as deleted), events, and one shared watch per namespace of the pods
 * Trainyard manages, which every running try waits on instead of polling.
 */
import { CoreV1Api, type CoreV1Event, type KubeConfig, type V1Pod, makeInformer } from '@kubernetes/client-node';
import { LogStreams } from './log-stream';
import { withApiRetry, statusOf } from './api-retry';
import { LABELS } from './naming';

type Listener = (pod: V1Pod | undefined) => void;

/** Latest known state of every managed pod in one namespace, kept by a list+watch. */
class NamespaceWatch {
  private readonly pods = new Map<string, V1Pod>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private stopped = false;
  readonly started: Promise<void>;
  readonly stop: () => Promise<void>;

  constructor(kc: KubeConfig, core: CoreV1Api, namespace: string) {
    const selector = `${LABELS.managedBy}=trainyard`;
    const informer = makeInformer<V1Pod>(
      kc,
      `/api/v1/namespaces/${namespace}/pods`,
      () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      selector,
    );
    const seen = (pod: V1Pod): void => {
      const name = pod.metadata?.name ?? '';
      this.pods.set(name, pod);
      this.listeners.get(name)?.forEach((l) => l(pod));
    };
    informer.on('add', seen);
    informer.on('update', seen);
    informer.on('delete', (pod) => {
      const name = pod.metadata?.name ?? '';
      this.pods.delete(name);
      this.listeners.get(name)?.forEach((l) => l(undefined));
    });
    informer.on('error', () => {
      // The informer lost its watch: start again shortly; waiters keep waiting meanwhile.
      if (!this.stopped) setTimeout(() => void informer.start().catch(() => undefined), 1000).unref();
    });
    this.started = informer.start();
    this.stop = async () => {
      this.stopped = true;
      await informer.stop();
    };
  }

  current(name: string): V1Pod | undefined {
    return this.pods.get(name);
  }

  /** Calls `listener` on every change of the pod (undefined once deleted); returns the unsubscribe. */
  subscribe(name: string, listener: Listener): () => void {
    const set = this.listeners.get(name) ?? new Set();
    set.add(listener);
    this.listeners.set(name, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(name);
    };
  }
}

export interface PodManager {
  create(pod: V1Pod): Promise<V1Pod>;
  get(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Deletes the pod; a pod that is already gone is fine. */
  delete(namespace: string, name: string): Promise<void>;
  events(namespace: string, name: string): Promise<CoreV1Event[]>;
  /** The shared watch of a namespace, started on first use. */
  watch(namespace: string): Promise<{ current(name: string): V1Pod | undefined; subscribe(name: string, listener: Listener): () => void }>;
  /**
   * Streams a container's log from `sinceTime` (RFC 3339), calling `onLine(timestamp, text)` per line;
   * resolves when the stream ends (the container stopped, or the connection dropped).
   */
  followLogs(namespace: string, name: string, container: string, sinceTime: string | undefined, onLine: (timestamp: string, text: string) => void, signal: AbortSignal): Promise<void>;
  /** Stops every watch; call when the worker stops. */
  close(): Promise<void>;
}

export function createPodManager(kc: KubeConfig): PodManager {
  const core = kc.makeApiClient(CoreV1Api);
  const watches = new Map<string, NamespaceWatch>();
  const logs = new LogStreams(kc);
  return {
    create: (pod) => withApiRetry(() => core.createNamespacedPod({ namespace: pod.metadata?.namespace ?? 'default', body: pod })),
    async get(namespace, name) {
      try {
        return await withApiRetry(() => core.readNamespacedPod({ namespace, name }));
      } catch (err) {
        if (statusOf(err) === 404) return undefined;
        throw err;
      }
    },
    async delete(namespace, name) {
      try {
        await withApiRetry(() => core.deleteNamespacedPod({ namespace, name }));
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    },
    async events(namespace, name) {
      const list = await withApiRetry(() => core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }));
      return list.items;
    },
    async watch(namespace) {
      let watch = watches.get(namespace);
      if (!watch) {
        watch = new NamespaceWatch(kc, core, namespace);
        watches.set(namespace, watch);
      }
      try {
        await watch.started;
      } catch (err) {
        // The first list failed (API server unreachable, say): the next try starts afresh.
        if (watches.get(namespace) === watch) watches.delete(namespace);
        await watch.stop().catch(() => undefined);
        throw err;
      }
      return watch;
    },
    async followLogs(namespace, name, container, sinceTime, onLine, signal) {
      let partial = '';
      const emit = (line: string): void => {
        const space = line.indexOf(' ');
        if (space > 0) onLine(line.slice(0, space), line.slice(space + 1));
      };
      await logs.follow({ namespace, name, container, ...(sinceTime ? { sinceTime } : {}) }, (chunk) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        lines.forEach(emit);
      }, signal);
      if (partial) emit(partial);
    },
    async close() {
      logs.close();
      await Promise.all([...watches.values()].map((w) => w.stop()));
      watches.clear();
    },
  };
}
