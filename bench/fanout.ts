/**
 * Fan-out at scale: one mapped step of 1,024 and then 10,240 no-op indices on a
 * real Temporal dev server, each index its own child workflow.
 * - fanout_1024_s / fanout_10240_s: wall time of the whole run;
 * - fanout_max_events_per_workflow: the longest history of any workflow involved
 *   (the run, every coordinator run across continue-as-new, every trial);
 * - fanout_worker_rss_mb: peak resident memory of this process, which hosts the
 *   worker (and the benchmark's client), sampled every 250 ms.
 *
 *   node dist/bench/fanout.js
 */
import { fanoutPipeline, runFanout, startDevServer, startWorker } from '../harness';
import { writeResults } from './results';

async function main(): Promise<void> {
  const small = fanoutPipeline(1024);
  const large = fanoutPipeline(10_240);
  const env = await startDevServer();
  const worker = await startWorker(env, [small, large]);
  let peakRss = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }, 250);
  try {
    const first = await runFanout(env, worker, small);
    const second = await runFanout(env, worker, large);
    for (const [n, f] of [[1024, first], [10_240, second]] as const) {
      if (f.trials !== n) throw new Error(`expected ${n} finished trials in visibility, found ${f.trials}`);
      console.log(`${n} trials: ${f.wallSeconds.toFixed(1)} s; run ${f.runEvents} events; coordinator runs ${f.coordinatorEvents.join(', ')}; trials ≤ ${f.maxTrialEvents} events; peak ${f.peakActive} running`);
    }
    await writeResults(
      {
        fanout_1024_s: Math.round(first.wallSeconds * 10) / 10,
        fanout_10240_s: Math.round(second.wallSeconds * 10) / 10,
        fanout_max_events_per_workflow: Math.max(first.maxEvents, second.maxEvents),
        fanout_peak_running_children: Math.max(first.peakActive, second.peakActive),
        fanout_worker_rss_mb: Math.round(peakRss / 1048576),
      },
      {
        fanout_1024_s: { target: 60, better: 'lower' },
        fanout_10240_s: { target: 600, better: 'lower' },
        fanout_max_events_per_workflow: { target: 10_240, better: 'lower' },
        fanout_peak_running_children: { target: 2000, better: 'lower' },
        fanout_worker_rss_mb: { target: 1536, better: 'lower' },
      },
    );
  } finally {
    clearInterval(sampler);
    await worker.stop();
    await env.teardown();
  }
}

main().catch((err: unknown) => {
  console.error(`bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
