/**
 * Forwards a trial's intermediate metrics to its mapped step's coordinator, which
 * applies the early-stopping rule. Reports are batched: at most one signal per
 * interval per trial, so a trial printing a metric line per batch does not
 * flood the coordinator's history; the last reports are sent when the try ends.
 */
import { Context } from '@temporalio/activity';
import { type TryRef, trialMetricsSignal } from '../contract';
import { parseMetricLine } from '../pipeline';

const INTERVAL_MS = 500;

export interface MetricsForwarder {
  /** Looks at one output line; a `trainyard.metric` line is queued for the coordinator. */
  line(text: string): void;
  /** Queues one report directly (task functions). */
  report(step: number, values: Record<string, number>): void;
  /** Sends what is queued; call when the try ends. */
  flush(): Promise<void>;
}

export function forwardMetrics(call: TryRef): MetricsForwarder {
  const target = call.metricsTo;
  const index = call.mapIndex;
  const queued: { step: number; values: Record<string, number> }[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();
  const send = (): Promise<void> => {
    timer = undefined;
    if (target === undefined || index === undefined || queued.length === 0) return sending;
    const reports = queued.splice(0);
    const ctx = Context.current();
    sending = sending.then(() =>
      ctx.client.workflow
        .getHandle(target)
        .signal(trialMetricsSignal, { index, reports })
        .catch((err: unknown) => {
          // The coordinator may have finished; early stopping is advice, never a reason to fail the try.
          ctx.log.debug(`could not forward metrics to ${target}: ${(err as Error).message}`);
        }),
    );
    return sending;
  };
  const report = (step: number, values: Record<string, number>): void => {
    if (target === undefined) return;
    queued.push({ step, values });
    timer ??= setTimeout(() => void send(), INTERVAL_MS);
  };
  return {
    line(text) {
      if (target === undefined) return;
      const metric = parseMetricLine(text);
      if (metric) report(metric.step, metric.values);
    },
    report,
    async flush() {
      clearTimeout(timer);
      await send();
    },
  };
}
