/** Small task functions the workflow tests build pipelines from. */
import { defineTask } from '../../pipeline';

export const noop = defineTask('test.noop', (_args: unknown) => undefined);
export const echo = defineTask('test.echo', (args: Record<string, unknown>) => args);
export const fail = defineTask('test.fail', (args: { message?: string } | null) => {
  throw new Error(args?.message ?? 'this step fails on purpose');
});

const tries = new Map<string, number>();
/** Fails until its try number reaches `succeedOn`, counting per run and step. */
export const flaky = defineTask('test.flaky', (args: { succeedOn: number }, ctx) => {
  const key = `${ctx.runId}/${ctx.stepId}`;
  const seen = (tries.get(key) ?? 0) + 1;
  tries.set(key, seen);
  if (ctx.attempt < args.succeedOn) throw new Error(`try ${ctx.attempt} fails on purpose`);
  return { attempt: ctx.attempt, calls: seen };
});

/** Concurrency seen by `hold`, per step, so tests can assert maxActive held. */
export const concurrency = new Map<string, { now: number; max: number }>();
/**
 * Holds for `ms` while counted as running; fails for the listed indices. With `gather`, it first waits (at most 10 s)
 * until that many tries of the step run at once, so a concurrency cap is reached by condition rather than by timing.
 */
export const hold = defineTask('test.hold', async (args: { ms: number; value?: unknown; failOn?: number[]; gather?: number }, ctx) => {
  const key = `${ctx.runId}/${ctx.stepId}`;
  const seen = concurrency.get(key) ?? { now: 0, max: 0 };
  concurrency.set(key, seen);
  seen.now++;
  seen.max = Math.max(seen.max, seen.now);
  try {
    const deadline = Date.now() + 10_000;
    while (args.gather !== undefined && seen.now < args.gather && Date.now() < deadline) await new Promise<void>((resolve) => setTimeout(resolve, 10));
    await new Promise<void>((resolve) => setTimeout(resolve, args.ms));
  } finally {
    seen.now--;
  }
  if (ctx.mapIndex !== undefined && args.failOn?.includes(ctx.mapIndex)) throw new Error(`index ${ctx.mapIndex} fails on purpose`);
  return { index: ctx.mapIndex ?? null, value: (args.value ?? null) as never };
});

/** Indices whose trial saw its signal abort (pruned or cancelled), per run. */
export const aborted = new Map<string, number[]>();
/**
 * A trial that reports `quality` as its metric every `everyMs` for `steps` steps,
 * so a median rule has something to judge; returns its final metric.
 */
export const train = defineTask('test.train', async (args: { quality: number; steps: number; everyMs: number }, ctx) => {
  ctx.signal.addEventListener('abort', () => {
    const list = aborted.get(ctx.runId) ?? [];
    list.push(ctx.mapIndex ?? -1);
    aborted.set(ctx.runId, list);
  }, { once: true });
  for (let step = 1; step <= args.steps; step++) {
    await new Promise<void>((resolve, reject) => {
      if (ctx.signal.aborted) return reject(new Error('stopped'));
      const timer = setTimeout(resolve, args.everyMs);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(new Error('stopped'));
      }, { once: true });
    });
    ctx.reportMetrics(step, { score: args.quality * (step / args.steps) });
  }
  return { quality: args.quality, index: ctx.mapIndex ?? null };
});
