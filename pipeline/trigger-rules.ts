/**
 * Airflow's trigger rules as one pure function: given the states of a step's
 * direct upstreams, may it run now, must it wait, or is it settled without running?
 *
 * A step settles as early as Airflow's scheduler settles it: Airflow judges a
 * task by the upstreams that have finished so far and, as soon as they decide
 * the outcome, marks it `skipped` or `upstream_failed` without waiting for the
 * rest (`all_success` with one failed upstream is `upstream_failed` while the
 * others still run). A step that settles early has no further part in the run;
 * the run itself still waits for every upstream that is running.
 *
 * Counting follows Airflow: `failed` and `upstream_failed` count alike as
 * failures everywhere except in `one_done`, which counts only success and
 * failed. `queued`, `running` and `up_for_retry` are unfinished. Airflow's
 * `removed` state and setup/teardown tasks have no counterpart here.
 *
 * Because the early decision is taken on what has finished so far, it can
 * depend on which upstream finished first, as in Airflow: `all_success` whose
 * skipped upstream is seen before a failing one lands settles `skipped`, while
 * both seen together make it `upstream_failed`.
 */
import { TERMINAL_STEP_STATES, type StepState, type TriggerRule } from './types';

export type TriggerDecision = 'run' | 'wait' | 'skipped' | 'upstream_failed';

/** How many of a step's upstreams are in each state; `failures` is failed plus upstream_failed. */
interface Counts {
  total: number;
  done: number;
  success: number;
  failed: number;
  failures: number;
  skipped: number;
}

function count(states: readonly StepState[]): Counts {
  const c: Counts = { total: states.length, done: 0, success: 0, failed: 0, failures: 0, skipped: 0 };
  for (const state of states) {
    if (TERMINAL_STEP_STATES.includes(state)) c.done++;
    if (state === 'success') c.success++;
    if (state === 'failed') c.failed++;
    if (state === 'failed' || state === 'upstream_failed') c.failures++;
    if (state === 'skipped') c.skipped++;
  }
  return c;
}

const allDone = (c: Counts): boolean => c.done === c.total;

/**
 * Each rule's decision from the counts of a step that has upstreams. Checks
 * that settle early come first, in Airflow's order of precedence; the rest wait
 * for the upstreams the rule needs.
 */
const RULES: Record<TriggerRule, (c: Counts) => TriggerDecision> = {
  all_success: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    if (c.skipped > 0) return 'skipped';
    return c.success === c.total ? 'run' : 'wait';
  },
  all_failed: (c) => {
    if (c.success + c.skipped > 0) return 'skipped';
    return c.failures === c.total ? 'run' : 'wait';
  },
  all_done: (c) => (allDone(c) ? 'run' : 'wait'),
  // Airflow skips on the first skipped upstream here, although its docs speak of
  // "all done": skipped upstreams are not counted as done for this rule.
  all_done_min_one_success: (c) => {
    if (c.skipped > 0) return 'skipped';
    if (!allDone(c)) return 'wait';
    return c.success > 0 ? 'run' : 'upstream_failed';
  },
  all_skipped: (c) => {
    if (c.success + c.failures > 0) return 'skipped';
    return c.skipped === c.total ? 'run' : 'wait';
  },
  // The "one_" rules run on the first upstream that qualifies and settle only once all are done.
  one_success: (c) => {
    if (c.success > 0) return 'run';
    if (!allDone(c)) return 'wait';
    return c.skipped === c.total ? 'skipped' : 'upstream_failed';
  },
  one_failed: (c) => {
    if (c.failures > 0) return 'run';
    return allDone(c) ? 'skipped' : 'wait';
  },
  one_done: (c) => {
    if (c.success + c.failed > 0) return 'run';
    return allDone(c) ? 'skipped' : 'wait';
  },
  none_failed: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    return c.success + c.skipped === c.total ? 'run' : 'wait';
  },
  // Skipped only when every upstream skipped, so a skip alone never settles it early.
  none_failed_min_one_success: (c) => {
    if (c.failures > 0) return 'upstream_failed';
    if (c.skipped === c.total) return 'skipped';
    return c.success + c.skipped === c.total ? 'run' : 'wait';
  },
  none_skipped: (c) => {
    if (c.skipped > 0) return 'skipped';
    return allDone(c) ? 'run' : 'wait';
  },
  always: () => 'run',
};

/** Decides a step from its direct upstreams' states. A step without upstreams runs at once, as in Airflow. */
export function decideTrigger(rule: TriggerRule, upstream: readonly StepState[]): TriggerDecision {
  if (upstream.length === 0) return 'run';
  return RULES[rule](count(upstream));
}
