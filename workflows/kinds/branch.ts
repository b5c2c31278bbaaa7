/**
 * A `branch` try: conditions read from the unrendered spec (they are expressions,
 * not templates) against the run, or a task function that returns step ids.
 */
import { failure } from '../../contract';
import { evaluateCondition, parseCondition } from '../../pipeline';
import type { TryRunner } from './try';

export const branchTry: TryRunner<'branch'> = async ({ step, config, ref, acts, env, timeoutMs }) => {
  const raw = step.config;
  let chosen: string[];
  if (raw.cases !== undefined || raw.otherwise !== undefined) {
    const ctx = env.context();
    const scope = { stepIds: ctx.stepIds, paramNames: Object.keys(env.run.params) };
    const hit = (raw.cases ?? []).find((c) => {
      try {
        return evaluateCondition(parseCondition(c.if, scope), ctx);
      } catch (err) {
        throw failure('conditionError', `condition '${c.if}': ${(err as Error).message}`);
      }
    });
    chosen = [hit ? hit.then : (raw.otherwise ?? [])].flat();
  } else {
    const fn = config.fn ?? '';
    const value = (await acts.runTask({ ...ref, fn, args: config.args ?? null, timeoutMs })).xcom;
    const ids = typeof value === 'string' ? [value] : Array.isArray(value) ? value.filter((v) => typeof v === 'string') : [];
    if (!Array.isArray(value) ? typeof value !== 'string' : ids.length !== value.length) {
      throw failure('branchError', `branch function '${fn}' must return a step id or a list of step ids, not ${JSON.stringify(value)}`);
    }
    chosen = ids;
  }
  const unknown = chosen.filter((id) => !env.followers.includes(id));
  if (unknown.length > 0) {
    throw failure('branchError', `branch chose ${unknown.join(', ')}, which is not a direct follower; followers: ${env.followers.join(', ')}`);
  }
  return { xcom: chosen, chosen };
};
