/**
 * `task`: calls a registered TypeScript function (the TaskFlow analogue) with
 * rendered arguments; its return value is the XCom.
 *
 *   const stats = p.task('stats', summarise, { rows: extract.get('rows') });
 */
import type { Args, StepHandle, StepOptions } from '../builder';
import type { TaskDefinition } from '../task';
import { type CompileContext, checkTaskName, defineKind } from './kind';

export interface TaskConfig {
  fn: string;
  /** Arguments: may contain templates and XCom references. */
  args?: unknown;
}

/** A task's config once compiled: args always present (null when none). */
export type CompiledTaskConfig = TaskConfig & { args: unknown };

export const taskKind = defineKind({
  method: 'task',
  build: (adder) =>
    <A, R>(id: string, fn: TaskDefinition<A, R>, args: Args<A>, opts?: StepOptions): StepHandle<Awaited<R>> =>
      adder.add<Awaited<R>>('task', id, { fn: adder.useTask(fn), args }, opts),
  compile(config: TaskConfig, ctx: CompileContext): CompiledTaskConfig {
    checkTaskName(ctx, 'fn', config.fn);
    return { ...config, args: config.args === undefined ? null : config.args };
  },
});
