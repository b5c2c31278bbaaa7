/**
 * Reschedule-mode sensors at scale: N runs (5,000 by default) each waiting on its
 * own S3 key with an s3Key sensor in reschedule mode (a short check, then a durable
 * timer), all on ONE worker that runs as its own process (`node dist/worker/main.js`),
 * against a real Temporal dev server and the local S3 server, all on loopback.
 *
 * 1. starts the N runs with bounded client concurrency, then waits until every
 *    run's sensor has checked once and is parked on its timer (describe calls
 *    to the server, the oldest unconfirmed runs first, a few at a time);
 * 2. samples the worker's /proc VmRSS and utime+stime every second over a waiting
 *    window of two poke intervals: RSS peak and mean, CPU as % of one core;
 * 3. uploads all N keys, recording when each landed, waits for every run to end,
 *    and takes detection latency = the sensor step's endedAt − its key's upload.
 *
 * Figures: sensors_5000_worker_rss_mb (peak), sensors_5000_worker_rss_mean_mb,
 * sensors_5000_worker_cpu_pct, sensors_poke_interval_s, sensors_5000_start_s
 * (first start to every first check), sensors_5000_detect_p50_s / _p95_s / _max_s.
 * Target (the issue's): detection p95 ≤ poke interval + 2 s. Only a run with the
 * default settings writes bench/results/latest.json; others print the same table.
 *
 *   node dist/bench/sensors.js [--runs 500] [--poke-interval 180s] [--max-cached-workflows N|sdk]
 *
 *   (also TRAINYARD_BENCH_SENSOR_RUNS, TRAINYARD_BENCH_SENSOR_POKE_INTERVAL)
 *
 * The poke interval (default 180 s) is chosen so a 2-core machine hosting the dev
 * server, S3 and the worker keeps up with 5,000 sensors with room to spare. Each check
 * costs the server ~11.5 history events (timer, activity, two workflow tasks). Measured
 * at 5,000 on a shared machine: every 180 s (~320 events/s) the dev server used ~60% of
 * a core, the worker ~50%, and detection p95 was 150 s (target 182 s); every 120 s
 * (~480/s) the server ran at ~85-90%, and p95 met its target in two runs of three
 * (109, 120, 128 s against 122 s); every 90 s (~640/s) checks fell up to 80 s behind
 * (p95 148 s against 92 s); every 60 s would be ~960/s, twice what the fan-out
 * benchmark saw the server do.
 * The worker caches every run (TRAINYARD_MAX_CACHED_WORKFLOWS = N + 10%): with the
 * SDK's default cache (~2,300 runs on a 4 GiB heap) each workflow task of an evicted
 * run replays its history, the worker's one workflow thread saturates and checks
 * fall behind (every 120 s: p95 detection 254 s); `--max-cached-workflows sdk` shows it.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { formatDuration, parseDuration } from '../pipeline';
import { PIPELINE_RUN_WORKFLOW, type PipelineRunInput, type RunState } from '../contract';
import { type NodeProcess, type TestS3, eventually, exitCode, spawnNode, startDevServer, startTestS3, tempStateDir } from '../harness';
import { SENSOR_BENCH_BUCKET, SENSOR_BENCH_STEP, sensorBenchKey, sensorBenchPipeline } from './sensor-pipeline';
import { type Target, eventMillis, formatResults, percentile, writeResults } from './results';

const EventType = temporal.api.enums.v1.EventType;
const DEFAULT_RUNS = 5000;
const DEFAULT_POKE_INTERVAL = '180s';
const LOGICAL_DATE = '2026-03-01T00:00:00Z';
const TASK_QUEUE = 'bench-sensors';
/** Client calls in flight at once: starts, uploads, result fetches. */
const CLIENT_CONCURRENCY = 32;
/** Describe calls in flight at once while waiting for first checks. */
const DESCRIBE_CONCURRENCY = 16;
/** Runs whose histories the summary reads, for check spacing and events per check. */
const HISTORY_SAMPLE = 20;

interface Options {
  runs: number;
  pokeIntervalMs: number;
  /** The worker's TRAINYARD_MAX_CACHED_WORKFLOWS; undefined leaves the SDK's default. */
  maxCachedWorkflows: number | undefined;
  /** Every setting at its default: only such a run writes bench/results/latest.json. */
  official: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const runs = Number(flag('--runs') ?? process.env.TRAINYARD_BENCH_SENSOR_RUNS ?? DEFAULT_RUNS);
  if (!Number.isInteger(runs) || runs < 1 || runs > 50_000) throw new Error(`--runs must be a whole number from 1 to 50000, not '${String(runs)}'`);
  const interval = flag('--poke-interval') ?? process.env.TRAINYARD_BENCH_SENSOR_POKE_INTERVAL ?? DEFAULT_POKE_INTERVAL;
  const pokeIntervalMs = parseDuration(interval);
  if (pokeIntervalMs === undefined || pokeIntervalMs < 1000) throw new Error(`--poke-interval must be a duration of at least 1s, like '120s', not '${interval}'`);
  const cacheFlag = flag('--max-cached-workflows');
  const official = runs === DEFAULT_RUNS && pokeIntervalMs === parseDuration(DEFAULT_POKE_INTERVAL) && cacheFlag === undefined;
  if (cacheFlag === 'sdk') return { runs, pokeIntervalMs, maxCachedWorkflows: undefined, official };
  const cached = Number(cacheFlag ?? Math.ceil(runs * 1.1));
  if (!Number.isInteger(cached) || cached < 0) throw new Error(`--max-cached-workflows must be a whole number or 'sdk', not '${String(cacheFlag)}'`);
  return { runs, pokeIntervalMs, maxCachedWorkflows: cached, official };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seconds = (ms: number): number => Math.round(ms / 100) / 10;

/** Runs `fn` over the items with at most `limit` calls in flight; the first failure stops the rest. */
async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** One reading of a process's resident memory and CPU time, from /proc. */
interface ProcReading {
  at: number;
  rssMb: number;
  cpuSeconds: number;
}

const CLOCK_TICKS = ((): number => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

function readProc(pid: number): ProcReading {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? Number.NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { at: Date.now(), rssMb: rssKb / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

/** The pid of this process's child whose command name starts with `name`, if there is one. */
function childNamed(name: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const command = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === process.pid && command.startsWith(name)) return Number(entry);
    } catch {
      // Gone meanwhile.
    }
  }
  return undefined;
}

/** Samples a process every second; summarises any stretch of it. */
class ProcSampler {
  private readonly samples: ProcReading[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly pid: number) {
    this.timer = setInterval(() => this.read(), 1000);
  }

  /** Reads now (and keeps the reading as a sample). */
  read(): ProcReading {
    const reading = readProc(this.pid);
    this.samples.push(reading);
    return reading;
  }

  /** RSS peak and mean over the samples from `from` to `to`, and CPU as % of one core between the two. */
  between(from: ProcReading, to: ProcReading): { peakMb: number; meanMb: number; cpuPct: number } {
    const inside = this.samples.filter((s) => s.at >= from.at && s.at <= to.at).map((s) => s.rssMb);
    return {
      peakMb: Math.max(...inside),
      meanMb: inside.reduce((a, b) => a + b, 0) / inside.length,
      cpuPct: ((to.cpuSeconds - from.cpuSeconds) / ((to.at - from.at) / 1000)) * 100,
    };
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * Whether a run's sensor has checked and is parked on its timer, from the server alone (no query
 * reaches the worker): a running run with neither a workflow task nor an activity pending can be
 * waiting on nothing else. Throws when the run has ended: no run may end before its key lands.
 */
async function parkedOnTimer(client: Client, workflowId: string): Promise<boolean> {
  const { status, raw } = await client.workflow.getHandle(workflowId).describe();
  if (status.name !== 'RUNNING') throw new Error(`run ${workflowId} ended (${status.name}) before its key landed`);
  return !raw.pendingWorkflowTask && (raw.pendingActivities ?? []).length === 0;
}

/**
 * Waits until every run's sensor has checked once. Once a second it describes the oldest runs not
 * yet seen parked (runs are served about in start order): twice as many as the last round found,
 * so the calls follow the pace of the runs rather than asking after all N every time.
 */
async function awaitFirstChecks(client: Client, ids: readonly string[], deadline: number): Promise<number> {
  let pending = ids.map((_, i) => i);
  let calls = 0;
  let found = 0;
  let lastReport = Date.now();
  while (pending.length > 0) {
    if (Date.now() > deadline) throw new Error(`${pending.length} of ${ids.length} sensors had not checked once by the deadline`);
    const batch = pending.slice(0, Math.min(200, 2 * found + 16));
    const parked = new Set<number>();
    await forEachLimit(batch, DESCRIBE_CONCURRENCY, async (i) => {
      if (await parkedOnTimer(client, ids[i] as string)) parked.add(i);
    });
    calls += batch.length;
    found = parked.size;
    pending = pending.filter((i) => !parked.has(i));
    if (Date.now() - lastReport > 15_000) {
      console.log(`  ${ids.length - pending.length}/${ids.length} sensors have checked once`);
      lastReport = Date.now();
    }
    if (pending.length > 0) await sleep(1000);
  }
  return calls;
}

/** Runs still open on the benchmark's task queue, from visibility. */
async function openRuns(client: Client): Promise<number> {
  return (await client.workflow.count(`TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Running'`)).count;
}

/** From a sample of finished runs' histories: history events per check, and the time between checks. */
async function checkCosts(client: Client, ids: readonly string[]): Promise<{ eventsPerCheck: number; spacingMs: number[] }> {
  let events = 0;
  let checks = 0;
  const spacingMs: number[] = [];
  const step = Math.max(1, Math.floor(ids.length / HISTORY_SAMPLE));
  for (let i = 0; i < ids.length; i += step) {
    const history = (await client.workflow.getHandle(ids[i] as string).fetchHistory()).events ?? [];
    const scheduled = history.filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED).map((e) => eventMillis(e.eventTime));
    events += history.length;
    checks += scheduled.length;
    for (let k = 1; k < scheduled.length; k++) spacingMs.push((scheduled[k] as number) - (scheduled[k - 1] as number));
  }
  return { eventsPerCheck: checks > 0 ? events / checks : Number.NaN, spacingMs };
}

/** Everything the benchmark started, stopped once whatever happens. */
class Resources {
  env?: TestWorkflowEnvironment;
  s3?: TestS3;
  worker?: NodeProcess;
  samplers: ProcSampler[] = [];
  private closing?: Promise<void>;

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const sampler of this.samplers) sampler.stop();
      const child = this.worker?.child;
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exitCode(child);
        clearTimeout(killer);
      }
      await this.env?.teardown().catch((err: unknown) => console.error(`bench: stopping the dev server: ${String(err)}`));
      await this.s3?.stop().catch((err: unknown) => console.error(`bench: stopping S3: ${String(err)}`));
    })();
    return this.closing;
  }

  /** Last resort when the process exits without close(): the worker must not outlive it. */
  killWorker(): void {
    const child = this.worker?.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

async function bench(options: Options, res: Resources): Promise<void> {
  const { runs, pokeIntervalMs } = options;
  const began = Date.now();
  const pipe = sensorBenchPipeline(formatDuration(pokeIntervalMs));
  console.log(
    `sensors: ${runs} reschedule-mode s3Key sensors on one worker process, poke interval ${formatDuration(pokeIntervalMs)}, ` +
      `worker cache ${options.maxCachedWorkflows ?? "the SDK's default"} runs`,
  );
  const [devServer, storage] = await Promise.allSettled([startDevServer(), startTestS3([SENSOR_BENCH_BUCKET])]);
  if (devServer.status === 'fulfilled') res.env = devServer.value;
  if (storage.status === 'fulfilled') res.s3 = storage.value;
  if (devServer.status === 'rejected') throw devServer.reason;
  if (storage.status === 'rejected') throw storage.reason;
  const env = devServer.value;
  const s3 = storage.value;
  const client = env.client;
  const worker = spawnNode(path.resolve(__dirname, '..', 'worker', 'main.js'), {
    TEMPORAL_ADDRESS: env.address,
    TRAINYARD_TASK_QUEUE: TASK_QUEUE,
    TRAINYARD_PIPELINES: 'bench/sensor-pipeline.js',
    TRAINYARD_STATE_DIR: tempStateDir(),
    TRAINYARD_LOG_LEVEL: 'WARN',
    ...(options.maxCachedWorkflows !== undefined ? { TRAINYARD_MAX_CACHED_WORKFLOWS: String(options.maxCachedWorkflows) } : {}),
    ...s3.env,
  });
  res.worker = worker;
  const printed = (): string => `${worker.output().stdout}${worker.output().stderr}`.slice(-4000);
  await eventually(
    'the worker process to start',
    () => {
      if (worker.child.exitCode !== null) throw new Error(`the worker exited with ${worker.child.exitCode}:\n${printed()}`);
      return printed().includes('trainyard worker on') ? true : undefined;
    },
    60_000,
  );
  const pid = worker.child.pid as number;
  const sampler = new ProcSampler(pid);
  res.samplers.push(sampler);
  const idle = sampler.read();
  // The dev server's CPU too, to show whether it keeps up with the checks (the Temporal CLI, a child of this process).
  const serverPid = childNamed('temporal');
  const serverSampler = serverPid !== undefined ? new ProcSampler(serverPid) : undefined;
  if (serverSampler) res.samplers.push(serverSampler);

  // 1. Start every run, then wait until each sensor has checked once.
  const ids = Array.from({ length: runs }, (_, i) => `bench-sensor-${i}`);
  const startedAt = Date.now();
  await forEachLimit(ids, CLIENT_CONCURRENCY, async (workflowId, n) => {
    const input: PipelineRunInput = { spec: pipe.spec, pipelineVersion: pipe.version, params: { n }, logicalDate: LOGICAL_DATE };
    await client.workflow.start(PIPELINE_RUN_WORKFLOW, { taskQueue: TASK_QUEUE, workflowId, args: [input] });
  });
  const startCallsMs = Date.now() - startedAt;
  console.log(`  started ${runs} runs in ${seconds(startCallsMs)} s`);
  const queries = await awaitFirstChecks(client, ids, startedAt + 120_000 + runs * 150);
  const allCheckedMs = Date.now() - startedAt;
  const ramp = sampler.between(idle, sampler.read());
  console.log(`  every sensor has checked once, ${seconds(allCheckedMs)} s after the first start (${queries} describe calls)`);

  // 2. The waiting window: two poke intervals with every sensor parked on a timer between checks.
  const windowMs = 2 * pokeIntervalMs;
  console.log(`  measuring the worker for ${formatDuration(windowMs)} while the sensors wait`);
  const from = sampler.read();
  const serverFrom = serverSampler?.read();
  await sleep(windowMs);
  if (worker.child.exitCode !== null) throw new Error(`the worker exited during the waiting window:\n${printed()}`);
  const waiting = sampler.between(from, sampler.read());
  const serverCpu = serverSampler && serverFrom ? `${serverSampler.between(serverFrom, serverSampler.read()).cpuPct.toFixed(0)}%` : 'unknown';

  // 3. Land every key, then wait for every run to see its key and end.
  const uploadedAt = new Array<number>(runs);
  const uploadStart = Date.now();
  await forEachLimit(ids, CLIENT_CONCURRENCY, async (_, n) => {
    await s3.client.send(new PutObjectCommand({ Bucket: SENSOR_BENCH_BUCKET, Key: sensorBenchKey(n), Body: 'ready\n' }));
    uploadedAt[n] = Date.now();
  });
  const uploadMs = Date.now() - uploadStart;
  console.log(`  uploaded ${runs} keys in ${seconds(uploadMs)} s; waiting for the runs to end`);
  const detectFrom = sampler.read();
  const finishDeadline = Date.now() + 2 * pokeIntervalMs + 180_000;
  for (let open = await openRuns(client); open > 0; open = await openRuns(client)) {
    if (Date.now() > finishDeadline) throw new Error(`${open} runs were still open ${formatDuration(2 * pokeIntervalMs + 180_000)} after the uploads`);
    await sleep(2000);
  }
  const detecting = sampler.between(detectFrom, sampler.read());

  const latencies: number[] = [];
  const failures: string[] = [];
  await forEachLimit(ids, CLIENT_CONCURRENCY, async (workflowId, n) => {
    const state = (await client.workflow.getHandle(workflowId).result()) as RunState;
    const sensor = state.steps.find((s) => s.id === SENSOR_BENCH_STEP);
    if (state.status !== 'success' || sensor?.endedAt === undefined) failures.push(`${workflowId}: ${state.status} ${sensor?.error ?? ''}`);
    else latencies.push((Date.parse(sensor.endedAt) - (uploadedAt[n] as number)) / 1000);
  });
  if (failures.length > 0) throw new Error(`${failures.length} runs did not succeed, e.g.\n  ${failures.slice(0, 5).join('\n  ')}`);
  const costs = await checkCosts(client, ids);
  const spacing = costs.spacingMs.map((ms) => ms / 1000);

  const prefix = `sensors_${runs}`;
  const figures: Record<string, number> = {
    [`${prefix}_worker_rss_mb`]: Math.round(waiting.peakMb),
    [`${prefix}_worker_rss_mean_mb`]: Math.round(waiting.meanMb),
    [`${prefix}_worker_cpu_pct`]: Math.round(waiting.cpuPct * 10) / 10,
    sensors_poke_interval_s: pokeIntervalMs / 1000,
    [`${prefix}_start_s`]: seconds(allCheckedMs),
    [`${prefix}_detect_p50_s`]: percentile(latencies, 50),
    [`${prefix}_detect_p95_s`]: percentile(latencies, 95),
    [`${prefix}_detect_max_s`]: percentile(latencies, 100),
  };
  const targets: Record<string, Target> = { [`${prefix}_detect_p95_s`]: { target: pokeIntervalMs / 1000 + 2, better: 'lower' } };
  const checksPerSecond = runs / (pokeIntervalMs / 1000);
  console.log(
    [
      `sensors: ${runs} runs, poke interval ${formatDuration(pokeIntervalMs)} (${checksPerSecond.toFixed(1)} checks/s, ` +
        `~${Math.round(checksPerSecond * costs.eventsPerCheck)} history events/s at ${costs.eventsPerCheck.toFixed(1)} events per check)`,
      `  start: ${seconds(startCallsMs)} s of start calls, every sensor checked once after ${seconds(allCheckedMs)} s; ` +
        `worker ${Math.round(ramp.peakMb)} MB peak, ${ramp.cpuPct.toFixed(0)}% CPU meanwhile`,
      `  waiting ${formatDuration(windowMs)}: worker RSS ${Math.round(waiting.peakMb)} MB peak, ${Math.round(waiting.meanMb)} MB mean ` +
        `(${Math.round(idle.rssMb)} MB before any run), CPU ${waiting.cpuPct.toFixed(1)}% of one core; dev server CPU ${serverCpu}`,
      `  uploads: ${runs} keys in ${seconds(uploadMs)} s; detection after upload p50 ${percentile(latencies, 50)} s, ` +
        `p95 ${percentile(latencies, 95)} s, max ${percentile(latencies, 100)} s (target p95 ≤ ${pokeIntervalMs / 1000 + 2} s); ` +
        `worker ${Math.round(detecting.peakMb)} MB peak, ${detecting.cpuPct.toFixed(0)}% CPU meanwhile`,
      `  checks of ${HISTORY_SAMPLE} sampled runs came every ${percentile(spacing, 50)} s (p50), ${percentile(spacing, 95)} s (p95), ` +
        `${percentile(spacing, 100)} s (max)`,
      `  total wall time ${seconds(Date.now() - began)} s`,
    ].join('\n'),
  );
  if (options.official) await writeResults(figures, targets);
  else console.log(`${formatResults(figures, targets)}\n(not written to bench/results: only a run with the default settings writes its figures)`);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const res = new Resources();
  process.on('exit', () => res.killWorker());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`bench: ${signal}: stopping the worker and the servers`);
      void res.close().finally(() => process.exit(130));
    });
  }
  // Generous bounds on every phase: starting, two waiting intervals, detection, and set-up/teardown.
  const limitMs = 120_000 + options.runs * 150 + 4 * options.pokeIntervalMs + 180_000 + 300_000;
  const limit = setTimeout(() => {
    console.error(`bench: sensors: still running after ${formatDuration(limitMs)}; giving up`);
    void res.close().finally(() => process.exit(1));
  }, limitMs);
  try {
    await bench(options, res);
  } finally {
    clearTimeout(limit);
    await res.close();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: sensors: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
