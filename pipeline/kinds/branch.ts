/**
 * `branch`: chooses which direct followers run, by conditions on XCom and params
 * or by a task function returning step ids; the followers it does not choose
 * are skipped.
 *
 *   p.branch('decide', { cases: [{ if: 'xcom.evaluate.accuracy >= params.threshold', then: 'deploy' }], otherwise: 'skip' });
 */
import type { StepHandle, StepOptions } from '../builder';
import { conditionSteps, parseCondition } from '../condition';
import type { TaskDefinition } from '../task';
import type { VariableScope } from '../variables';
import { type CompileContext, checkTaskName, defineKind } from './kind';

/** One arm of a declarative branch. */
export interface BranchCase {
  /** A condition such as `xcom.evaluate_model.accuracy >= params.threshold`. */
  if: string;
  then: string | string[];
}

/** A branch picks which direct followers run; the others are skipped. */
export interface BranchConfig {
  cases?: BranchCase[];
  otherwise?: string | string[];
  /** Instead of cases: a registered task function returning the follower ids to run. */
  fn?: string;
  args?: unknown;
}

/** What the builder's `branch` takes: cases, or the task function itself. */
export type BranchOptions = BranchConfig | { fn: TaskDefinition<never, string | string[]>; args?: unknown };

function conditionsOf(config: BranchConfig): string[] {
  return Array.isArray(config.cases) ? config.cases.map((c) => c?.if).filter((c): c is string => typeof c === 'string') : [];
}

export const branchKind = defineKind({
  method: 'branch',
  build: (adder) =>
    (id: string, config: BranchOptions, opts?: StepOptions): StepHandle<string[]> =>
      typeof config.fn === 'object'
        ? adder.add('branch', id, { fn: adder.useTask(config.fn), ...(config.args !== undefined ? { args: config.args } : {}) }, opts)
        : adder.add('branch', id, config, opts),
  compile(config: BranchConfig, ctx: CompileContext): BranchConfig {
    const { where, problems, followers, scope } = ctx;
    const hasCases = config.cases !== undefined || config.otherwise !== undefined;
    if (hasCases === (config.fn !== undefined)) problems.push(`${where}: give either cases (with an optional otherwise) or fn, not both and not neither`);
    if (config.fn !== undefined) checkTaskName(ctx, 'fn', config.fn);
    if (ctx.mapped && config.fn === undefined) {
      problems.push(`${where}: a mapped branch must choose with a task function (fn); conditions (cases) read the run once, not per index`);
    }
    const targets: unknown[] = [];
    if (config.cases !== undefined) {
      if (!Array.isArray(config.cases)) problems.push(`${where}: cases must be a list of { if, then }`);
      else {
        // Read as written, not as typed: a spec from any client may hold anything here.
        const cases: readonly unknown[] = config.cases;
        for (const [i, item] of cases.entries()) {
          const c = item as Partial<Record<string, unknown>> | null | undefined;
          if (typeof c?.if !== 'string') problems.push(`${where}: cases[${i}].if must be a condition string`);
          else {
            try {
              parseCondition(c.if, scope);
            } catch (err) {
              problems.push(`${where}: cases[${i}].if: ${(err as Error).message}`);
            }
          }
          targets.push(c?.then);
        }
      }
    }
    if (config.otherwise !== undefined) targets.push(config.otherwise);
    for (const target of targets.flat()) {
      if (typeof target !== 'string') problems.push(`${where}: branch targets must be step ids`);
      else if (!followers.includes(target)) problems.push(`${where}: branch target '${target}' is not a direct follower; followers: ${followers.join(', ') || '(none)'}`);
    }
    return config;
  },
  reads(config: BranchConfig, scope: VariableScope): string[] {
    return conditionsOf(config).flatMap((c) => {
      try {
        return conditionSteps(parseCondition(c, scope));
      } catch {
        return []; // reported by compile
      }
    });
  },
});
