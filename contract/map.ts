/**
 * A mapped step's workflows: one coordinator (`mapStep`) per mapped step of a
 * run, one trial (`mapTrial`) per index. Their ids, inputs, results, live views,
 * and the signal trials' metrics travel by.
 *
 *   client.workflow.getHandle(coordinatorId(runId, 'model_training.train_model')).query(mapStateQuery);
 *   client.workflow.getHandle(trialId(runId, 'model_training.train_model', 3)).query(trialStateQuery);
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Json, ResolvedMap, RunContext, RunRef, StepSpec, StoppingState } from '../pipeline';
import type { MapStepSummary, TryProgress } from './run';

export const MAP_STEP_WORKFLOW = 'mapStep';
export const MAP_TRIAL_WORKFLOW = 'mapTrial';

/** The workflow id of a mapped step's coordinator. */
export function coordinatorId(runId: string, stepId: string): string {
  return `${runId}/${stepId}`;
}

/** The workflow id of one index of a mapped step. */
export function trialId(runId: string, stepId: string, index: number): string {
  return `${coordinatorId(runId, stepId)}/${index}`;
}

export interface TrialInput {
  run: RunRef;
  /** The mapped step, its config already rendered for this index, without its map. */
  step: StepSpec;
  mapIndex: number;
  /** This index's values (`map.KEY`). */
  values: Record<string, Json>;
  followers: string[];
  /** The coordinator, which takes this trial's intermediate metrics. */
  metricsTo?: string;
}

export interface TrialStateView extends TryProgress {
  stepId: string;
  mapIndex: number;
  values: Record<string, Json>;
  /** The config this index runs with, templates rendered. */
  config: unknown;
}

/** One index of a mapped step: its live state and rendered config. */
export const trialStateQuery = defineQuery<TrialStateView>('trialState');

/** Progress a trial reports while it runs; many steps may come in one signal. */
export interface TrialMetrics {
  index: number;
  reports: { step: number; values: Record<string, number> }[];
}

/** A trial's intermediate metrics, sent to its coordinator (early stopping). */
export const trialMetricsSignal = defineSignal<[TrialMetrics]>('trialMetrics');

/** Sent by the coordinator to a trial it is about to stop, so the trial's records say why. */
export const trialStopSignal = defineSignal<[{ reason: string }]>('trialStop');

/** What a coordinator carries into its next run (continue-as-new). */
export interface MapCarried {
  next: number;
  /** One letter per index: p pending, s success, f failed, x pruned. */
  states: string;
  outputs: Record<string, Json>;
  chosen: string[];
  failures: { index: number; error: string }[];
  prunedIndices: { index: number; reason: string }[];
  counts: { succeeded: number; failed: number; pruned: number };
  stopping?: StoppingState;
  peakActive: number;
  runs: number;
}

export interface MapStepInput {
  step: StepSpec;
  followers: string[];
  /** The run (its RunRef) as the step's templates see it, with the XCom of its upstream steps only. */
  context: RunContext;
  resolved: ResolvedMap;
  carried?: MapCarried;
}

export interface MapStepResult extends Omit<MapStepSummary, 'coordinatorId'> {
  /** The successful indices' outputs (null for one that returned nothing), in index order. */
  outputs: Json[];
  /** For a mapped branch: every follower some index chose. */
  chosen?: string[];
  /** How many coordinator runs (continue-as-new) it took. */
  runs: number;
}

export interface MapStateView {
  stepId: string;
  total: number;
  running: number[];
  counts: MapCarried['counts'];
  /** One letter per index: p pending, r running, s success, f failed, x pruned. */
  states: string;
  peakActive: number;
  runs: number;
}

/** The coordinator's live view: every index's state, one letter each. */
export const mapStateQuery = defineQuery<MapStateView>('mapState');
