/**
 * Hyperparameter search: generators that produce the list a mapped step expands
 * over, and the reducer that picks the best trial afterwards.
 *
 *   const grid = p.task('generate_hyperparams', randomSearchTask, { space, count: 20, seed: 7 });
 *   const train = p.pod('train_model', { ... }, { map: { expand: grid.output } });
 *   p.task('pick', selectBestTask, { results: train.output, key: 'metrics.accuracy', mode: 'max' });
 *
 * Random search is seeded with our own small PRNG rather than Math.random, so a
 * seed gives the same trials on every machine and in every replay.
 */
import { defineTask } from './task';
import type { Json } from './types';

/** How one hyperparameter is drawn in random search. */
export type Distribution =
  | Json[]
  | { uniform: [number, number] }
  | { loguniform: [number, number] }
  | { randint: [number, number] };

function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every combination of the lists, in itertools.product order (the first key changes slowest). */
export function gridSearch(space: Record<string, Json[]>): Record<string, Json>[] {
  if (!isDict(space)) throw new Error('gridSearch: space must be an object of lists, e.g. { lr: [0.1, 0.01], batch: [32, 64] }');
  const keys = Object.keys(space);
  for (const key of keys) {
    if (!Array.isArray(space[key])) throw new Error(`gridSearch: space.${key} must be a list of values, e.g. [0.1, 0.01]`);
  }
  let combos: Json[][] = [[]];
  for (const key of keys) {
    const values = space[key] ?? [];
    combos = combos.flatMap((prefix) => values.map((value) => [...prefix, value]));
  }
  return combos.map((values) => Object.fromEntries(keys.map((key, k) => [key, values[k] as Json])));
}

/**
 * Mulberry32: a 32-bit state advanced by a Weyl step, then mixed. Small, fast,
 * and built only from 32-bit integer operations, so every engine agrees on it.
 */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** A uniform float in [0, 1) with 53 random bits, from two 32-bit draws. */
function unitFloat(next: () => number): number {
  const high = next() >>> 5; // 27 bits
  const low = next() >>> 6; // 26 bits
  return (high * 67_108_864 + low) / 9_007_199_254_740_992;
}

type Sampler = (next: () => number) => Json;

const DISTRIBUTION_HELP = 'a non-empty list of choices, { uniform: [lo, hi] }, { loguniform: [lo, hi] } with lo > 0, or { randint: [lo, hi] }';

/** Checks one distribution and returns how to draw from it; throws naming the key and the fix. */
function sampler(key: string, dist: unknown): Sampler {
  if (Array.isArray(dist)) {
    if (dist.length === 0) throw new Error(`randomSearch: space.${key} is an empty list; give at least one choice`);
    const choices = dist as Json[];
    return (next) => choices[Math.floor(unitFloat(next) * choices.length)] as Json;
  }
  const kinds = isDict(dist) ? Object.keys(dist) : [];
  const kind = kinds[0];
  if (kinds.length !== 1 || (kind !== 'uniform' && kind !== 'loguniform' && kind !== 'randint')) {
    throw new Error(`randomSearch: space.${key} must be ${DISTRIBUTION_HELP} (got ${JSON.stringify(dist) ?? String(dist)})`);
  }
  const bounds = (dist as Record<string, unknown>)[kind];
  const pair = Array.isArray(bounds) && bounds.length === 2 ? (bounds as unknown[]) : [];
  const [lo, hi] = pair;
  if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi) {
    throw new Error(`randomSearch: space.${key}.${kind} must be [lo, hi] with finite numbers and lo <= hi (got ${JSON.stringify(bounds) ?? 'nothing'})`);
  }
  switch (kind) {
    case 'uniform':
      return (next) => lo + (hi - lo) * unitFloat(next);
    case 'loguniform': {
      if (lo <= 0) throw new Error(`randomSearch: space.${key}.loguniform needs lo > 0 (got ${lo}); use uniform for ranges that reach 0`);
      const logLo = Math.log(lo);
      const logHi = Math.log(hi);
      // Clamp: exp(log(hi)) can land a hair above hi.
      return (next) => Math.min(hi, Math.max(lo, Math.exp(logLo + (logHi - logLo) * unitFloat(next))));
    }
    case 'randint': {
      if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi)) {
        throw new Error(`randomSearch: space.${key}.randint needs whole-number bounds (got [${lo}, ${hi}]); use uniform for real numbers`);
      }
      const span = hi - lo + 1;
      return (next) => lo + Math.floor(unitFloat(next) * span);
    }
  }
}

/**
 * `count` random points of the space. The same seed gives the same list on every
 * machine; keys are drawn in sorted order, so the order they are written in does
 * not change the values. Each point lists its keys in the order of `space`.
 */
export function randomSearch(space: Record<string, Distribution>, count: number, seed: number): Record<string, Json>[] {
  if (!isDict(space)) throw new Error(`randomSearch: space must be an object of distributions, each ${DISTRIBUTION_HELP}`);
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`randomSearch: count must be a whole number >= 0 (got ${String(count)})`);
  if (!Number.isSafeInteger(seed)) throw new Error(`randomSearch: seed must be a whole number (got ${String(seed)})`);
  const written = Object.keys(space);
  const drawOrder = [...written].sort();
  const samplers = new Map(drawOrder.map((key) => [key, sampler(key, space[key])]));
  // Fold the seed's high bits in, so seeds that differ only above 2^32 give different streams.
  const next = mulberry32((seed | 0) ^ Math.imul(Math.floor(seed / 4_294_967_296) | 0, 0x9e3779b9));
  const points: Record<string, Json>[] = [];
  for (let i = 0; i < count; i++) {
    const drawn = new Map<string, Json>();
    for (const key of drawOrder) drawn.set(key, (samplers.get(key) as Sampler)(next));
    points.push(Object.fromEntries(written.map((key) => [key, drawn.get(key) as Json])));
  }
  return points;
}

/** Reads `key` from an item: the key itself if the item has it, else a dotted path. */
function readKey(item: unknown, key: string): unknown {
  if (!isDict(item)) return undefined;
  if (Object.hasOwn(item, key)) return item[key];
  let value: unknown = item;
  for (const part of key.split('.')) {
    if (!isDict(value) || !Object.hasOwn(value, part)) return undefined;
    value = value[part];
  }
  return value;
}

/**
 * The result with the best finite number at `key` ('accuracy', or a dotted path
 * like 'metrics.accuracy'). Items without one (a failed trial's null, a missing
 * metric) are skipped; on a tie the earliest item wins.
 */
export function selectBest<T>(results: readonly T[], key: string, mode: 'max' | 'min'): { best: T; index: number; value: number } {
  if (!Array.isArray(results)) throw new Error(`selectBest: results must be a list (got ${results === null ? 'null' : typeof results})`);
  if (typeof key !== 'string' || key === '') throw new Error('selectBest: key must name the metric to compare, e.g. "accuracy"');
  if (mode !== 'max' && mode !== 'min') throw new Error(`selectBest: mode must be 'max' or 'min' (got ${String(mode)})`);
  let found: { best: T; index: number; value: number } | undefined;
  // Typed again: Array.isArray above widened the items to any.
  (results as readonly T[]).forEach((item, index) => {
    const value = readKey(item, key);
    if (typeof value !== 'number' || !Number.isFinite(value)) return;
    if (!found || (mode === 'max' ? value > found.value : value < found.value)) found = { best: item, index, value };
  });
  if (!found) {
    throw new Error(
      `selectBest: none of the ${results.length} results has a finite number at '${key}'; check the key (dotted paths like 'metrics.accuracy' work) and that trials return it`,
    );
  }
  return found;
}

/** Task: every combination of `space`, for a mapped step to expand over. */
export const gridSearchTask = defineTask('trainyard.grid_search', (args: { space: Record<string, Json[]> }) => gridSearch(args.space));

/** Task: `count` seeded random points of `space`. */
export const randomSearchTask = defineTask(
  'trainyard.random_search',
  (args: { space: Record<string, Distribution>; count: number; seed: number }) => randomSearch(args.space, args.count, args.seed),
);

/** Task: the best result, with `best_index` and `best_value` added to it. */
export const selectBestTask = defineTask(
  'trainyard.select_best',
  (args: { results: Json[]; key: string; mode: 'max' | 'min' }): Json => {
    const { best, index, value } = selectBest(args.results, args.key, args.mode);
    // Only objects can carry a metric, so the best item is always one; the guard keeps the type honest.
    return isDict(best) ? { ...(best as Record<string, Json>), best_index: index, best_value: value } : best;
  },
);
