/**
 * Airflow's trigger rules as one pure function: given the states of a step's
 * direct upstreams, may it run now, must it wait, or is it settled without running?
 *
 * Counting follows Airflow: `failed` counts failed and upstream_failed alike
 * for the failure rules; `one_done` counts only success and failed.
 */
import { TERMINAL_STEP_STATES, type StepState, type TriggerRule } from './types';

export type TriggerDecision = 'run' | 'wait' | 'skipped' | 'upstream_failed';

interface Counts {
  total: number;
  done: number;
  success: number;
  failed: number;
  upstreamFailed: number;
  skipped: number;
}

function count(states: readonly StepState[]): Counts {
  const c: Counts = { total: states.length, done: 0, success: 0, failed: 0, upstreamFailed: 0, skipped: 0 };
  for (const state of states) {
    if (TERMINAL_STEP_STATES.includes(state)) c.done++;
    if (state === 'success') c.success++;
    if (state === 'failed') c.failed++;
    if (state === 'upstream_failed') c.upstreamFailed++;
    if (state === 'skipped') c.skipped++;
  }
  return c;
}

/** Decides a step from its direct upstreams' states. A step without upstreams runs at once. */
export function decideTrigger(rule: TriggerRule, upstream: readonly StepState[]): TriggerDecision {
  const c = count(upstream);
  const allDone = c.done === c.total;
  const anyFailure = c.failed + c.upstreamFailed > 0;
  switch (rule) {
    case 'always':
      return 'run';
    case 'all_success':
      if (!allDone) return 'wait';
      if (anyFailure) return 'upstream_failed';
      return c.skipped > 0 ? 'skipped' : 'run';
    case 'all_failed':
      if (!allDone) return 'wait';
      return c.success + c.skipped > 0 ? 'skipped' : 'run';
    case 'all_done':
      return allDone ? 'run' : 'wait';
    case 'all_skipped':
      if (!allDone) return 'wait';
      return c.skipped === c.total ? 'run' : 'skipped';
    case 'one_success':
      if (c.success > 0 || c.total === 0) return 'run';
      if (!allDone) return 'wait';
      return c.skipped === c.total ? 'skipped' : 'upstream_failed';
    case 'one_failed':
      if (anyFailure || c.total === 0) return 'run';
      return allDone ? 'skipped' : 'wait';
    case 'one_done':
      if (c.success + c.failed > 0 || c.total === 0) return 'run';
      return allDone ? 'skipped' : 'wait';
    case 'none_failed':
      if (!allDone) return 'wait';
      return anyFailure ? 'upstream_failed' : 'run';
    case 'none_failed_min_one_success':
      if (!allDone) return 'wait';
      if (anyFailure) return 'upstream_failed';
      return c.success > 0 || c.total === 0 ? 'run' : 'skipped';
    case 'none_skipped':
      if (!allDone) return 'wait';
      return c.skipped > 0 ? 'skipped' : 'run';
  }
}
