/**
 * Mapped steps: Airflow's `partial` + `expand`, resolved while the run is going.
 *
 * A step with a `map` runs once per index. The values come from literal lists
 * in the spec or from upstream XCom, so the number of indices is only known
 * once the upstream steps are done: `resolveMap` turns the sources into lists,
 * `mapValues` gives the values of one index.
 *
 * A grid of a few keys can be far larger than its lists (10 × 32 × 32 = 10,240),
 * and this code runs inside the workflow, whose memory and history are precious.
 * So the combinations are never built: the length is computed by arithmetic and
 * each index is decoded on demand as a mixed-radix number.
 *
 * Everything here is pure, so it replays identically.
 */
import { parseDuration } from './duration';
import { isXComRef } from './template';
import type { Json, MapSource, MapSpec, XComRef } from './types';

/**
 * A problem with a map that retrying cannot fix (the upstream XCom has the wrong
 * shape, the grid is too large): the caller fails the step without retries.
 */
export class MapError extends Error {
  override name = 'MapError';
}

/** A map whose sources have been turned into lists; the combinations themselves are not built. */
export interface ResolvedMap {
  /** The keys of a keyed map, in the order written; null for a single source. */
  keys: string[] | null;
  /** One list per key (or one list for a single source). */
  lists: Json[][];
  mode: 'product' | 'zip' | 'single';
  /** How many indices the map has; 0 means the step is skipped. */
  length: number;
}

/** A map's settings with the defaults applied. */
export interface MapDefaults {
  /** `single` when `expand` is one source; `mode` applies only to keyed sources. */
  mode: 'product' | 'zip' | 'single';
  maxActive: number;
  maxMapLength: number;
  minSuccessRatio: number;
}

export const MAX_ACTIVE_LIMIT = 2000;
const DEFAULT_MAX_ACTIVE = 256;
const DEFAULT_MAX_MAP_LENGTH = 1024;

/** Writes 12000 as '12,000'; by hand, because locale formatting is not the same everywhere. */
function grouped(n: number): string {
  if (!Number.isSafeInteger(n)) return String(n);
  const digits = String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ',');
  return n < 0 ? `-${digits}` : digits;
}

/** The JSON type of a value, with an article, for messages. */
function jsonType(value: Json | undefined): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'a boolean';
    default:
      return 'a dict';
  }
}

function isDict(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Expand = MapSpec['expand'];

/** Whether `expand` is one source (a literal list or an XCom reference) rather than an object of keyed sources. */
function isSingleSource(expand: Expand): expand is MapSource {
  return Array.isArray(expand) || isXComRef(expand);
}

function describeRef(ref: XComRef): string {
  return `the XCom of '${ref.$xcom}'${ref.key === undefined ? '' : ` (key '${ref.key}')`}`;
}

/** Turns one source into its list of items; `field` is null for a single source, else the key. */
function resolveSource(stepId: string, field: string | null, source: unknown, xcom: Record<string, Json>): Json[] {
  if (Array.isArray(source)) return source as Json[];
  const where = field === null ? `${stepId} maps over` : `${stepId} maps map.expand.${field} over`;
  if (!isXComRef(source)) {
    throw new MapError(
      `${where} ${jsonType(source as Json)} in the spec; map.expand${field === null ? '' : `.${field}`} must be a list or an XCom reference`,
    );
  }
  const ref = source;
  // Own properties only: an XCom named like an Object.prototype member must not read the prototype.
  let value: Json | undefined = Object.hasOwn(xcom, ref.$xcom) ? xcom[ref.$xcom] : undefined;
  if (value === undefined) {
    throw new MapError(
      `${where} ${describeRef(ref)}, which is missing (the step was skipped or returned nothing); return a list (one item per index) or a dict`,
    );
  }
  if (ref.key !== undefined) {
    if (!isDict(value)) {
      throw new MapError(
        `${where} ${describeRef(ref)}, but that XCom is ${jsonType(value)}, not a dict with key '${ref.key}'; return a dict, or drop the key`,
      );
    }
    if (!Object.hasOwn(value, ref.key)) {
      const known = Object.keys(value);
      throw new MapError(
        `${where} ${describeRef(ref)}, which is missing (its keys: ${known.join(', ') || '(none)'}); return a list or a dict under '${ref.key}'`,
      );
    }
    value = value[ref.key];
  }
  if (Array.isArray(value)) return value;
  // A dict maps as its entries, like Airflow's expand over a dict.
  if (isDict(value)) return Object.entries(value).map(([key, item]) => ({ key, value: item }));
  throw new MapError(
    `${where} ${describeRef(ref)}, which is ${jsonType(value)}, not a list or dict; return a list (one item per index) or a dict`,
  );
}

/** Turns a map's sources into lists, given the run's XCom; throws a MapError when a source has the wrong shape. */
export function resolveMap(stepId: string, map: MapSpec, xcom: Record<string, Json>): ResolvedMap {
  const expand = map.expand as unknown;
  if (isSingleSource(expand as Expand)) {
    const items = resolveSource(stepId, null, expand, xcom);
    return { keys: null, lists: [items], mode: 'single', length: items.length };
  }
  if (!isDict(expand)) {
    throw new MapError(`${stepId}: map.expand is ${jsonType(expand as Json)}; give a list, an XCom reference, or an object of them`);
  }
  const keys = Object.keys(expand);
  if (keys.length === 0) throw new MapError(`${stepId}: map.expand has no keys; give at least one key with a list of values`);
  const lists = keys.map((key) => resolveSource(stepId, key, expand[key], xcom));
  const mode = map.mode ?? 'product';
  if (mode === 'zip') {
    const length = lists[0]?.length ?? 0;
    if (lists.some((list) => list.length !== length)) {
      const lengths = keys.map((key, k) => `${key}: ${grouped(lists[k]?.length ?? 0)}`).join(', ');
      throw new MapError(
        `${stepId} zips lists of different lengths (${lengths}); give every key the same number of items, or use mode 'product'`,
      );
    }
    return { keys, lists, mode, length };
  }
  return { keys, lists, mode: 'product', length: lists.reduce((n, list) => n * list.length, 1) };
}

/** The values of one index, decoded without building any other combination. */
export function mapValues(resolved: ResolvedMap, index: number): Record<string, Json> {
  if (!Number.isInteger(index) || index < 0 || index >= resolved.length) {
    throw new RangeError(`map index ${index} is out of range; the map has ${grouped(resolved.length)} indices`);
  }
  if (resolved.mode === 'single' || resolved.keys === null) {
    const item = resolved.lists[0]?.[index] as Json;
    // A copy, so a caller adding map_index cannot change the resolved list.
    return isDict(item) ? { ...item } : { item };
  }
  const keys = resolved.keys;
  const picked: Json[] = new Array<Json>(keys.length);
  if (resolved.mode === 'zip') {
    for (let k = 0; k < keys.length; k++) picked[k] = resolved.lists[k]?.[index] as Json;
  } else {
    // itertools.product order: the last key changes fastest, so it is the lowest digit.
    let rest = index;
    for (let k = keys.length - 1; k >= 0; k--) {
      const list = resolved.lists[k] ?? [];
      picked[k] = list[rest % list.length] as Json;
      rest = Math.floor(rest / list.length);
    }
  }
  // fromEntries defines own properties, so a key named '__proto__' stays a plain key.
  return Object.fromEntries(keys.map((key, k) => [key, picked[k] as Json]));
}

/** A map's effective settings: product (for keyed sources), 256 at once (at most 2,000), 1,024 indices, all must succeed. */
export function mapDefaults(map: MapSpec): MapDefaults {
  return {
    mode: isSingleSource(map.expand) ? 'single' : (map.mode ?? 'product'),
    maxActive: Math.min(map.maxActive ?? DEFAULT_MAX_ACTIVE, MAX_ACTIVE_LIMIT),
    maxMapLength: map.maxMapLength ?? DEFAULT_MAX_MAP_LENGTH,
    minSuccessRatio: map.minSuccessRatio ?? 1,
  };
}

/** Throws a MapError when the map has more indices than allowed, before any of them starts. */
export function checkMapLength(stepId: string, resolved: ResolvedMap, maxMapLength: number): void {
  if (resolved.length <= maxMapLength) return;
  const shape =
    resolved.mode === 'product' && resolved.keys !== null && resolved.keys.length > 1
      ? ` (${resolved.keys.map((key, k) => `${key} ${grouped(resolved.lists[k]?.length ?? 0)}`).join(' × ')})`
      : '';
  throw new MapError(
    `${stepId} would create ${grouped(resolved.length)} indices${shape}, more than maxMapLength ${grouped(maxMapLength)}; raise map.maxMapLength or shrink the grid`,
  );
}

const MAP_FIELDS = ['expand', 'mode', 'maxActive', 'maxMapLength', 'minSuccessRatio', 'earlyStopping'];
const EARLY_STOPPING_FIELDS = ['metric', 'mode', 'minSteps', 'gracePeriod', 'minTrials'];

const isPositiveInteger = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
const shown = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

/**
 * Static checks of a map for the pipeline validator; each problem names the
 * step and the field. XCom sources are only checked to name a step: their
 * length is known at run time. An empty literal list is fine (the step is skipped).
 */
export function mapProblems(stepId: string, map: MapSpec, stepIds: readonly string[]): string[] {
  const where = `step '${stepId}'`;
  const problems: string[] = [];
  const raw = map as unknown;
  if (!isDict(raw)) return [`${where}: map must be an object with an expand field`];
  for (const field of Object.keys(raw)) {
    if (!MAP_FIELDS.includes(field)) problems.push(`${where}: map.${field} is not a map field; fields: ${MAP_FIELDS.join(', ')}`);
  }

  const { mode, maxActive, maxMapLength, minSuccessRatio, earlyStopping } = raw as Partial<Record<keyof MapSpec, unknown>>;
  if (mode !== undefined && mode !== 'product' && mode !== 'zip') {
    problems.push(`${where}: map.mode must be 'product' or 'zip' (got ${shown(mode)})`);
  }
  if (maxActive !== undefined && !(Number.isInteger(maxActive) && (maxActive as number) >= 1 && (maxActive as number) <= MAX_ACTIVE_LIMIT)) {
    problems.push(`${where}: map.maxActive must be an integer from 1 to ${MAX_ACTIVE_LIMIT} (got ${shown(maxActive)})`);
  }
  const lengthOk = maxMapLength === undefined || isPositiveInteger(maxMapLength);
  if (!lengthOk) problems.push(`${where}: map.maxMapLength must be a positive integer (got ${shown(maxMapLength)})`);
  if (minSuccessRatio !== undefined && !(typeof minSuccessRatio === 'number' && minSuccessRatio > 0 && minSuccessRatio <= 1)) {
    problems.push(`${where}: map.minSuccessRatio must be a number above 0 and at most 1 (got ${shown(minSuccessRatio)})`);
  }
  const limit = lengthOk ? (maxMapLength ?? DEFAULT_MAX_MAP_LENGTH) : undefined;

  // Each source: a literal list, or a reference to a step that exists. Returns the literal length, if known.
  const checkSource = (field: string, source: unknown): number | undefined => {
    if (Array.isArray(source)) return source.length;
    if (isXComRef(source)) {
      if (!stepIds.includes(source.$xcom)) {
        problems.push(`${where}: ${field} reads the XCom of '${source.$xcom}', which is no step of this pipeline`);
      } else if (source.$xcom === stepId) {
        problems.push(`${where}: ${field} reads the step's own XCom; map over an upstream step`);
      }
      if (source.key !== undefined && typeof source.key !== 'string') {
        problems.push(`${where}: ${field}.key must be a string (got ${shown(source.key)})`);
      }
      return undefined;
    }
    problems.push(`${where}: ${field} must be a list or an XCom reference like { $xcom: 'step' } (got ${shown(source)})`);
    return undefined;
  };

  const expand = raw.expand;
  if (expand === undefined) {
    problems.push(`${where}: map.expand is required: a list, an XCom reference, or an object of them`);
  } else if (Array.isArray(expand) || isXComRef(expand)) {
    const length = checkSource('map.expand', expand);
    if (length !== undefined && limit !== undefined && length > limit) {
      problems.push(`${where}: map.expand has ${grouped(length)} items, more than maxMapLength ${grouped(limit)}; raise map.maxMapLength or shorten the list`);
    }
  } else if (!isDict(expand)) {
    problems.push(`${where}: map.expand must be a list, an XCom reference, or an object of them (got ${shown(expand)})`);
  } else if (Object.keys(expand).length === 0) {
    problems.push(`${where}: map.expand has no keys; give at least one key with a list of values`);
  } else {
    const literal: [string, number][] = [];
    for (const [key, source] of Object.entries(expand)) {
      const length = checkSource(`map.expand.${key}`, source);
      if (length !== undefined) literal.push([key, length]);
    }
    if (mode === 'zip') {
      // Only literal lists can be compared now; XCom lengths are checked when the run resolves them.
      if (new Set(literal.map(([, n]) => n)).size > 1) {
        const lengths = literal.map(([key, n]) => `${key}: ${grouped(n)}`).join(', ');
        problems.push(`${where}: map.mode 'zip' pairs lists of different lengths (${lengths}); give every key the same number of items`);
      }
    } else if (mode === undefined || mode === 'product') {
      // XCom lists can only add to the product (or make it empty), so the literal part alone is a lower bound worth flagging.
      const product = literal.reduce((n, [, len]) => n * len, 1);
      if (literal.length > 0 && limit !== undefined && product > limit) {
        const shape = literal.map(([key, n]) => `${key} ${grouped(n)}`).join(' × ');
        problems.push(
          `${where}: map.expand would create ${grouped(product)} indices (${shape}), more than maxMapLength ${grouped(limit)}; raise map.maxMapLength or shrink the grid`,
        );
      }
    }
  }

  if (earlyStopping !== undefined) earlyStoppingProblems(where, earlyStopping, problems);
  return problems;
}

function earlyStoppingProblems(where: string, raw: unknown, problems: string[]): void {
  if (!isDict(raw)) {
    problems.push(`${where}: map.earlyStopping must be an object like { metric: 'val_accuracy', mode: 'max' }`);
    return;
  }
  for (const field of Object.keys(raw)) {
    if (!EARLY_STOPPING_FIELDS.includes(field)) {
      problems.push(`${where}: map.earlyStopping.${field} is not an early stopping field; fields: ${EARLY_STOPPING_FIELDS.join(', ')}`);
    }
  }
  const { metric, mode, minSteps, minTrials, gracePeriod } = raw as Record<string, unknown>;
  if (typeof metric !== 'string' || metric.trim() === '') {
    problems.push(`${where}: map.earlyStopping.metric must name the metric trials report, e.g. 'val_accuracy' (got ${shown(metric)})`);
  }
  if (mode !== 'max' && mode !== 'min') {
    problems.push(`${where}: map.earlyStopping.mode must be 'max' (higher is better) or 'min' (got ${shown(mode)})`);
  }
  for (const [field, value] of [
    ['minSteps', minSteps],
    ['minTrials', minTrials],
  ] as const) {
    if (value !== undefined && !isPositiveInteger(value)) {
      problems.push(`${where}: map.earlyStopping.${field} must be a positive integer (got ${shown(value)})`);
    }
  }
  if (gracePeriod !== undefined && (typeof gracePeriod !== 'string' || parseDuration(gracePeriod) === undefined)) {
    problems.push(`${where}: map.earlyStopping.gracePeriod ${shown(gracePeriod)} is not a duration; write it like '30s', '5m' or '1h30m'`);
  }
}
