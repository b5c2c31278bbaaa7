/**
 * Early stopping of a mapped step's trials by the median rule.
 *
 * The idea: a trial that, even at its best so far, does worse than a typical
 * trial did on average over the same stretch of training is unlikely to catch
 * up, so its slot is better given to a trial still waiting to run.
 *
 * How a trial is judged, precisely:
 *   - It must still be running (not finished), have reported at least
 *     `minSteps` distinct steps (default 3), and have run for at least
 *     `gracePeriod` (default 0s). Before that it is never stopped: early
 *     curves are noisy.
 *   - Let s be the highest step it has reported, and best its best value
 *     (highest for `max`, lowest for `min`) over everything it reported.
 *   - Every other trial that has got at least as far (reported some step >= s)
 *     and has a value at or before s contributes its running average: the mean
 *     of its values at steps <= s. Finished and pruned trials count too; they
 *     are evidence of what the metric looks like at that point.
 *   - With fewer than `minTrials` contributions (default 3) nothing is decided.
 *   - Otherwise the trial is stopped when best is strictly worse than the
 *     median of the contributions. A tie keeps it running.
 *
 * Non-finite values are dropped when reported. A second report of the same step
 * replaces the first (a trial that re-evaluates, or a replayed log line).
 *
 * The state is plain JSON (`toJSON`) so a workflow can carry it across
 * continue-as-new and rebuild the rule with `new MedianStopping(spec, state)`.
 * Nothing here reads the clock: the caller passes workflow time in.
 */
import { parseDuration } from './duration';
import type { EarlyStoppingSpec } from './types';

export interface TrialRecord {
  startedAtMs: number;
  /** [step, value] pairs, ascending by step, one per step. */
  values: [number, number][];
  done: boolean;
}

export interface StoppingState {
  /** By map index (as a string, since JSON object keys are strings). */
  trials: Record<string, TrialRecord>;
}

export type StoppingVerdict = { stop: false } | { stop: true; reason: string };

/** Rounds for messages: three decimals for larger numbers, three significant digits for small ones. */
function shown(x: number): string {
  return Math.abs(x) >= 1 ? String(Math.round(x * 1000) / 1000) : String(Number(x.toPrecision(3)));
}

/** The middle value; the mean of the two middle values for an even count. */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The position of the last pair with step <= `step`, or -1. */
function lastAtOrBefore(values: readonly [number, number][], step: number): number {
  let lo = 0;
  let hi = values.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as [number, number])[0] <= step) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function copyState(state: StoppingState): StoppingState {
  const trials: Record<string, TrialRecord> = {};
  for (const [key, trial] of Object.entries(state.trials)) {
    trials[key] = { startedAtMs: trial.startedAtMs, values: trial.values.map(([s, v]) => [s, v]), done: trial.done };
  }
  return { trials };
}

function positiveInteger(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`earlyStopping.${field} must be a positive integer (got ${String(value)})`);
  return value;
}

export class MedianStopping {
  private readonly state: StoppingState;
  private readonly minSteps: number;
  private readonly minTrials: number;
  private readonly graceMs: number;
  /**
   * Prefix sums of each trial's values, so a running average is a binary search
   * rather than a scan: judging stays cheap with thousands of trials. Derived,
   * so it is not part of the state; dropped whenever a trial's values change.
   */
  private readonly prefix = new Map<string, number[]>();

  constructor(
    readonly spec: EarlyStoppingSpec,
    state?: StoppingState,
  ) {
    if (typeof spec.metric !== 'string' || spec.metric === '') throw new Error('earlyStopping.metric must name a metric');
    if (spec.mode !== 'max' && spec.mode !== 'min') throw new Error(`earlyStopping.mode must be 'max' or 'min' (got ${String(spec.mode)})`);
    this.minSteps = positiveInteger('minSteps', spec.minSteps, 3);
    this.minTrials = positiveInteger('minTrials', spec.minTrials, 3);
    const grace = parseDuration(spec.gracePeriod ?? '0s');
    if (grace === undefined) throw new Error(`earlyStopping.gracePeriod '${String(spec.gracePeriod)}' is not a duration`);
    this.graceMs = grace;
    // A copy: the caller's object (say, the workflow input) must not change under it.
    this.state = state ? copyState(state) : { trials: {} };
  }

  /** A trial begins (or begins again, after a retry: its earlier curve is dropped, and the grace period restarts). */
  start(index: number, nowMs: number): void {
    const key = String(index);
    this.state.trials[key] = { startedAtMs: nowMs, values: [], done: false };
    this.prefix.delete(key);
  }

  /** Records the metric at a step. Reports for a trial never started, bad steps and non-finite values are ignored. */
  report(index: number, step: number, value: number): void {
    const key = String(index);
    const trial = Object.hasOwn(this.state.trials, key) ? this.state.trials[key] : undefined;
    if (!trial || !Number.isFinite(step) || step < 0 || !Number.isFinite(value)) return;
    const values = trial.values;
    const at = lastAtOrBefore(values, step);
    if (at >= 0 && (values[at] as [number, number])[0] === step) values[at] = [step, value];
    else values.splice(at + 1, 0, [step, value]);
    this.prefix.delete(key);
  }

  /** The trial ended (success, failure or pruned); its values stay as evidence for the others. */
  finish(index: number): void {
    const trial = this.state.trials[String(index)];
    if (trial) trial.done = true;
  }

  /** Whether the trial should be stopped now, with the reason when it should. */
  judge(index: number, nowMs: number): StoppingVerdict {
    const key = String(index);
    const trial = Object.hasOwn(this.state.trials, key) ? this.state.trials[key] : undefined;
    if (!trial || trial.done || trial.values.length < this.minSteps) return { stop: false };
    if (nowMs - trial.startedAtMs < this.graceMs) return { stop: false };

    const max = this.spec.mode === 'max';
    const step = (trial.values[trial.values.length - 1] as [number, number])[0];
    let best = max ? -Infinity : Infinity;
    for (const [, value] of trial.values) best = max ? Math.max(best, value) : Math.min(best, value);

    const averages: number[] = [];
    for (const [other, record] of Object.entries(this.state.trials)) {
      if (other === key || record.values.length === 0) continue;
      // Only trials that have reached step s: a trial still behind would be compared over a shorter stretch.
      if ((record.values[record.values.length - 1] as [number, number])[0] < step) continue;
      const upTo = lastAtOrBefore(record.values, step);
      if (upTo < 0) continue;
      averages.push((this.sums(other, record)[upTo] as number) / (upTo + 1));
    }
    if (averages.length < this.minTrials) return { stop: false };

    const middle = median(averages);
    if (max ? best >= middle : best <= middle) return { stop: false };
    return {
      stop: true,
      reason:
        `${this.spec.metric} best ${shown(best)} by step ${step} is ${max ? 'below' : 'above'} the median ${shown(middle)} ` +
        `of ${averages.length} other trials' running averages (mode ${this.spec.mode})`,
    };
  }

  /** The state as plain JSON, to carry across continue-as-new. */
  toJSON(): StoppingState {
    return copyState(this.state);
  }

  /** Cumulative sums of a trial's values, built on first use after a change. */
  private sums(key: string, record: TrialRecord): number[] {
    let sums = this.prefix.get(key);
    if (!sums) {
      let total = 0;
      sums = record.values.map(([, value]) => (total += value));
      this.prefix.set(key, sums);
    }
    return sums;
  }
}
