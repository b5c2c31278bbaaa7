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
