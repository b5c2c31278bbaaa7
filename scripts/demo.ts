/**
 * The demo's client half: triggers the flagship pipeline through the HTTP API,
 * shows each step as it changes, then prints the per-step table. Exits 0 only
 * when the run succeeded. Started by scripts/demo.sh once the services are up.
 *
 *   node dist/scripts/demo.js --api http://127.0.0.1:3000 --ui http://127.0.0.1:8233 --mlflow http://127.0.0.1:5000 [--param threshold=0.95] [--no-approve]
 *
 * The run is started as `demo-operator`; when it waits for approval, the demo shows
 * what is being approved and approves it through the API as a second identity,
 * `demo-reviewer` (with --no-approve it leaves the run waiting and prints the call
 * that approves it).
 */
import { readFileSync } from 'node:fs';
import { CreateBucketCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { KubeConfig, type V1Pod, Watch } from '@kubernetes/client-node';
import { runSelector } from '../activities/kubernetes/naming';
import { createS3Client } from '../activities/object-store';
import { TRAINING_DATA } from '../examples/ml-training/pipeline';
import { s3OptionsFrom } from '../worker/config';
import { type RunState, type StepRunState, approvalPath } from '../contract';
import type { Comparison, Promotion } from '../pipeline';

interface Options {
  api: string;
  ui: string;
  pipeline: string;
  params: Record<string, unknown>;
  notifications?: string;
  runner: 'local' | 'kubernetes';
  kubeconfig?: string;
  /** The day's data file, uploaded to the sensor's key a few seconds after the run starts. */
  data?: string;
  /** The MLflow server's URL, for the run's link. */
  mlflow?: string;
  /** Approve a waiting approval through the API (as REVIEWER); false leaves it waiting. */
  approve: boolean;
}

/** Who starts the demo's run, and who approves its model: two people, as the approval requires. */
const OPERATOR = 'demo-operator';
const REVIEWER = 'demo-reviewer';

/** How long the demo lets the sensor wait before the data lands. */
const DATA_DELAY_MS = 4000;

function parseArgs(argv: string[]): Options {
  const options: Options = { api: 'http://127.0.0.1:3000', ui: 'http://127.0.0.1:8233', pipeline: 'ml_training_pipeline', params: {}, runner: 'local', approve: true };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    if (flag === '--api') options.api = value;
    else if (flag === '--ui') options.ui = value;
    else if (flag === '--pipeline') options.pipeline = value;
    else if (flag === '--notifications') options.notifications = value;
    else if (flag === '--data') options.data = value;
    else if (flag === '--mlflow') options.mlflow = value;
    else if (flag === '--no-approve') {
      options.approve = false;
      continue;
    }
    else if (flag === '--kubeconfig') {
      options.kubeconfig = value;
      options.runner = 'kubernetes';
    }
    else if (flag === '--param') {
      const [key = '', raw = ''] = value.split(/=(.*)/s);
      options.params[key] = Number.isNaN(Number(raw)) || raw === '' ? raw : Number(raw);
    } else continue;
    i++;
  }
  return options;
}

const seconds = (s: StepRunState): string =>
  s.startedAt && s.endedAt ? `${((Date.parse(s.endedAt) - Date.parse(s.startedAt)) / 1000).toFixed(1)}s` : '';

function briefXCom(value: unknown): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) {
    // A mapped step's list of outputs, or a grid: its length and a glimpse of the first item.
    const text = JSON.stringify(value);
    return text.length <= 80 ? text : `${value.length} items, first: ${briefXCom(value[0]).slice(0, 60)}`;
  }
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  const picked = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => typeof v !== 'object' || v === null)
    .slice(0, 4)
    .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toFixed(4)) : String(v).replace(/^.*\/(?=[^/]+$)/, '…/')}`);
  return picked.join(' ');
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function request(url: string, init?: RequestInit): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) };
}

/**
 * Plays the upstream system: uploads the day's data where the sensor looks, then sends the
 * S3 event notification S3 would send, so the waiting sensor looks again at once.
 */
async function deliverData(options: Options & { data: string }, logicalDate: string): Promise<string> {
  const { s3, key } = dataTarget(logicalDate);
  try {
    const body = readFileSync(options.data);
    const put = await s3.send(new PutObjectCommand({ Bucket: TRAINING_DATA.bucket, Key: key, Body: body }));
    const record = { eventName: 'ObjectCreated:Put', s3: { bucket: { name: TRAINING_DATA.bucket }, object: { key, size: body.length, eTag: put.ETag } } };
    const sent = await request(`${options.api}/events/s3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${process.env.TRAINYARD_EVENTS_TOKEN ?? ''}` },
      body: JSON.stringify({ Records: [record] }),
    });
    const actions = ((sent.body as { outcomes?: { action: string }[] }).outcomes ?? []).map((o) => o.action).join(', ');
    return `uploaded s3://${TRAINING_DATA.bucket}/${key} (${(body.length / 1024).toFixed(0)} KiB); S3 event sent: ${sent.status} ${actions || 'nothing woken'}`;
  } finally {
    s3.destroy();
  }
}

/** The S3 client and the key the example's sensor waits for on that date. */
function dataTarget(logicalDate: string): { s3: ReturnType<typeof createS3Client>; key: string } {
  const s3Options = s3OptionsFrom(process.env);
  if (!s3Options) throw new Error('the demo needs the local S3 server (TRAINYARD_S3_ENDPOINT)');
  return { s3: createS3Client(s3Options), key: TRAINING_DATA.key.replace('{{ ds }}', logicalDate.slice(0, 10)) };
}

/**
 * Before the run: the buckets the demo's steps use exist (the data's and the artifacts'), and
 * an earlier demo's upload of today's data is gone, so the sensor is seen waiting.
 */
async function prepareStorage(logicalDate: string): Promise<void> {
  const { s3, key } = dataTarget(logicalDate);
  const artifacts = /^s3:\/\/([^/]+)/.exec(process.env.TRAINYARD_ARTIFACTS_URI ?? '')?.[1];
  try {
    for (const bucket of [TRAINING_DATA.bucket, ...(artifacts ? [artifacts] : [])]) {
      await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((err: { name?: string }) => {
        if (err.name !== 'BucketAlreadyOwnedByYou' && err.name !== 'BucketAlreadyExists') throw err;
      });
    }
    await s3.send(new DeleteObjectCommand({ Bucket: TRAINING_DATA.bucket, Key: key }));
  } finally {
    s3.destroy();
  }
}

interface SeenPod {
  name: string;
  namespace: string;
  node: string;
  result: string;
}

/** Watches every namespace for the run's pods and remembers where each was scheduled and how it ended. */
async function watchPods(kubeconfig: string, runId: string): Promise<{ seen: Map<string, SeenPod>; stop: () => void }> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const seen = new Map<string, SeenPod>();
  const controller = await new Watch(kc).watch('/api/v1/pods', { labelSelector: runSelector(runId) }, (_type: string, pod: V1Pod) => {
    const name = pod.metadata?.name ?? '';
    const previous = seen.get(name);
    const terminated = pod.status?.containerStatuses?.[0]?.state?.terminated;
    seen.set(name, {
      name,
      namespace: pod.metadata?.namespace ?? '',
      node: pod.spec?.nodeName ?? previous?.node ?? '(pending)',
      result: terminated ? `exit ${terminated.exitCode}` : (pod.status?.phase ?? previous?.result ?? ''),
    });
  }, () => undefined);
  return { seen, stop: () => controller.abort() };
}

/**
 * A run waits for approval: shows what is being approved, then approves it as the reviewer;
 * with --no-approve prints how to, and answers false (the demo ends, the run keeps waiting).
 */
async function decide(options: Options, runId: string, s: StepRunState, clock: () => string): Promise<boolean> {
  const approval = s.approval;
  if (!approval) return true;
  // The scores a reviewer weighs; the run's other metrics (Trainyard's xcom.* copies among them) are in MLflow.
  const shown = ['test_accuracy', 'test_f1', 'val_accuracy', 'loss'];
  const metrics = shown.flatMap((k) => (approval.metrics?.[k] !== undefined ? [`${k} ${Number(approval.metrics[k].toFixed(4))}`] : [])).join(', ');
  const details = Object.entries(approval.details).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join('; ');
  console.log(`  ${clock()}  approval needed: model '${approval.model}' version ${approval.version}${metrics ? ` (${metrics})` : ''}`);
  if (details) console.log(`  ${clock()}    ${details}`);
  const body = { decision: 'approve', modelName: approval.model, version: approval.version, approver: REVIEWER, comment: 'approved in the demo' };
  const url = `${options.api}${approvalPath(runId, s.id)}`;
  if (!options.approve) {
    console.log(`\nthe run waits for approval until ${approval.deadline}; approve it (as someone other than ${OPERATOR}) with:\n`);
    console.log(`  curl -X POST ${url} -H 'content-type: application/json' -d '${JSON.stringify({ ...body, approver: 'you@example.com', comment: 'looks good' })}'\n`);
    console.log(`or list what waits: curl ${options.api}/approvals`);
    return false;
  }
  const answer = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const said = answer.body as { decision?: string; approver?: string; message?: string };
  console.log(`  ${clock()}  POST ${approvalPath(runId, s.id)} as ${REVIEWER}: ${answer.status} ${said.decision ?? said.message ?? ''}`);
  return true;
}

/** What the run did in the model registry: the version, the comparison and the alias. */
function registrySummary(state: RunState): string | undefined {
  const output = (id: string): unknown => state.steps.find((s) => s.id === id)?.output;
  const compared = output('model_training.compare_baseline') as Comparison | undefined;
  if (!compared) return undefined;
  const promoted = output('promote_model') as Promotion | undefined;
  const baseline = compared.baseline.version ? `@${compared.baseline.alias} version ${compared.baseline.version} (${compared.baseline.value})` : `no @${compared.baseline.alias} yet`;
  const lines = [
    `model registry${compared.candidate.runId === 'simulated' ? ' (simulated: on KWOK no container runs, so no model reaches MLflow)' : ''}: '${compared.model}' version ${compared.candidate.version}, ${compared.metric} ${compared.candidate.value} against ${baseline}`,
    `  decision: ${compared.shouldPromote ? 'promote' : 'keep the champion'}: ${compared.reason}`,
    promoted
      ? `  ${compared.model}@${promoted.alias} -> version ${promoted.version}${promoted.previous ? ` (was version ${promoted.previous})` : ''}`
      : `  ${compared.model}@${compared.baseline.alias} stays at ${compared.baseline.version ? `version ${compared.baseline.version}` : 'no version'}`,
  ];
  return lines.join('\n');
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const today = new Date().toISOString().slice(0, 10);
  if (options.data) await prepareStorage(today);
  const created = await request(`${options.api}/pipelines/${options.pipeline}/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ params: options.params, runner: options.runner, logicalDate: today, startedBy: OPERATOR }),
  });
  if (created.status !== 201) {
    console.error(`trainyard demo: the API refused the run (${created.status}): ${JSON.stringify(created.body)}`);
    return 1;
  }
  const { runId, pipelineVersion, logicalDate } = created.body as { runId: string; pipelineVersion: string; logicalDate: string };
  console.log(`\nrun ${runId} of ${options.pipeline} (version ${pipelineVersion}) started through POST /pipelines/${options.pipeline}/runs\n`);
  const clock = (): string => new Date().toISOString().slice(11, 19);
  const data = options.data;
  const delivered = data
    ? new Promise((resolve) => setTimeout(resolve, DATA_DELAY_MS))
        .then(() => deliverData({ ...options, data }, logicalDate))
        .then(
          (line) => console.log(`  ${clock()}  ${line}`),
          (err: unknown) => {
            // Without its data the run would wait out the sensor's timeout: end the demo now.
            console.error(`trainyard demo: could not deliver the day's data: ${err instanceof Error ? err.message : String(err)}`);
            process.exit(1);
          },
        )
    : Promise.resolve();

  const pods = options.kubeconfig ? await watchPods(options.kubeconfig, runId) : undefined;
  const seen = new Map<string, string>();
  const asked = new Set<string>();
  let state: RunState | undefined;
  for (;;) {
    const polled = await request(`${options.api}/runs/${runId}`);
    if (polled.status === 200) {
      state = polled.body as RunState;
      for (const s of state.steps) {
        const key = `${s.state}/${s.attempt}/${s.note ?? ''}`;
        if (seen.get(s.id) === key || s.state === 'queued') continue;
        seen.set(s.id, key);
        const running = `try ${s.attempt}/${s.maxAttempts}${s.note ? `: ${s.note}` : ''}`;
        const detail = s.state === 'running' ? running : s.state === 'success' ? `${seconds(s)} ${briefXCom(s.output)}` : (s.error ?? '');
        console.log(`  ${clock()}  ${s.id.padEnd(34)} ${s.state.padEnd(16)} ${detail.split('\n')[0] ?? ''}`);
      }
      if (state.status !== 'running') break;
      for (const s of state.steps) {
        if (s.state !== 'running' || !s.approval || s.approval.decision || asked.has(s.id)) continue;
        asked.add(s.id);
        if (!(await decide(options, runId, s, clock))) {
          await delivered;
          return 0;
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }

  await delivered;
  console.log(`\n${table([
    ['step', 'state', 'try', 'time', 'XCom'],
    ...state.steps.map((s) => [s.id, s.state, s.attempt ? `${s.attempt}/${s.maxAttempts}` : '-', seconds(s), briefXCom(s.output)]),
  ])}\n`);
  for (const s of state.steps) {
    if (!s.map) continue;
    const m = s.map;
    console.log(`${s.id}: ${m.total} trials as child workflows ${m.coordinatorId}/0..${m.total - 1}, at most ${m.peakActive ?? '?'} at once: ` +
      `${m.succeeded ?? 0} succeeded, ${m.pruned ?? 0} pruned early, ${m.failed ?? 0} failed`);
    for (const p of m.prunedIndices ?? []) console.log(`  pruned trial ${p.index}: ${p.reason}`);
    for (const f of m.failures ?? []) console.log(`  failed trial ${f.index}: ${f.error.split('\n')[0] ?? ''}`);
    console.log('');
  }
  if (pods) {
    pods.stop();
    console.log(`pods created on the local cluster (KWOK nodes):\n${table([
      ['pod', 'namespace', 'node', 'result'],
      ...[...pods.seen.values()].map((p) => [p.name, p.namespace, p.node, p.result]),
    ])}\n`);
  }
  if (options.notifications) {
    // The sink keeps every notification it was sent; this run's is the last one naming its run id.
    const mine = readFileSync(options.notifications, 'utf8').trim().split('\n').filter((line) => line.includes(JSON.stringify(runId)));
    console.log(mine.length ? `notification received: ${mine.at(-1)}\n` : 'no notification was sent for this run\n');
  }
  const registry = registrySummary(state);
  if (registry) console.log(`${registry}\n`);
  console.log(`${state.summary ?? state.status} in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  console.log(`Temporal Web UI: ${options.ui}/namespaces/default/workflows/${encodeURIComponent(runId)}`);
  if (options.mlflow && state.run.mlflow) {
    console.log(`MLflow UI: ${options.mlflow}/#/experiments/${state.run.mlflow.experimentId}/runs/${state.run.mlflow.runId}`);
  }
  return state.status === 'success' ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`trainyard demo: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
