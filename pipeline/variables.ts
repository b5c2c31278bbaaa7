/**
 * The variables that templates (`{{ ds }}`) and branch conditions can read, and
 * how a dotted name resolves against a run. Step ids may contain dots (group
 * prefixes), so `xcom.a.b.c` resolves to the longest step id that matches.
 */
import { TemplateError } from './errors';
import type { RunRef } from './run-ref';
import type { Json } from './types';

export const BUILTIN_VARIABLES = ['ds', 'ds_nodash', 'logical_date', 'ts', 'run_id', 'pipeline_id'] as const;

/** What a template or condition sees of a run. */
export interface RunContext {
  /** The run: its ids, logical date (`ds`) and params. */
  run: RunRef;
  /** XCom by step id; a step that produced nothing has no entry. */
  xcom: Record<string, Json>;
  stepIds: readonly string[];
  /** In one index of a mapped step: its values (`map.KEY`) and index (`map_index`). */
  map?: Record<string, Json>;
  mapIndex?: number;
}

export type Variable =
  | { kind: 'builtin'; name: (typeof BUILTIN_VARIABLES)[number] }
  | { kind: 'param'; name: string }
  | { kind: 'xcom'; step: string; keys: string[] }
  | { kind: 'map'; keys: string[] }
  | { kind: 'map_index' };

/** What static checks know before a run: step ids and param names. */
export interface VariableScope {
  stepIds: readonly string[];
  paramNames: readonly string[];
  /**
   * In a mapped step: the keys its values have (`'any'` when they come from an
   * upstream XCom, known only at run time). Absent elsewhere: `map.*` is an error.
   */
  mapKeys?: readonly string[] | 'any';
}

/** Parses a dotted variable name; throws a TemplateError naming what is known. */
export function parseVariable(path: string, scope: VariableScope): Variable {
  const builtin = BUILTIN_VARIABLES.find((name) => name === path);
  if (builtin) return { kind: 'builtin', name: builtin };
  if (path.startsWith('params.')) {
    const name = path.slice('params.'.length);
    if (!scope.paramNames.includes(name)) {
      throw new TemplateError(
        `unknown param '${name}'; declared params: ${scope.paramNames.join(', ') || '(none)'} (declare it in the pipeline's params)`,
      );
    }
    return { kind: 'param', name };
  }
  if (path === 'map_index' || path === 'map' || path.startsWith('map.')) {
    if (scope.mapKeys === undefined) throw new TemplateError(`'${path}' exists only in a mapped step; give the step a map (expand) or drop the reference`);
    if (path === 'map_index') return { kind: 'map_index' };
    const keys = path === 'map' ? [] : path.slice('map.'.length).split('.');
    const first = keys[0];
    if (first !== undefined && scope.mapKeys !== 'any' && !scope.mapKeys.includes(first)) {
      throw new TemplateError(`unknown map key '${first}'; this step expands ${scope.mapKeys.join(', ') || '(no keys)'}`);
    }
    return { kind: 'map', keys };
  }
  if (path.startsWith('xcom.')) {
    const rest = path.slice('xcom.'.length);
    const step = scope.stepIds
      .filter((id) => rest === id || rest.startsWith(`${id}.`))
      .sort((a, b) => b.length - a.length)[0];
    if (step === undefined) throw new TemplateError(`'xcom.${rest}' names no step of this pipeline`);
    const keys = rest === step ? [] : rest.slice(step.length + 1).split('.');
    return { kind: 'xcom', step, keys };
  }
  throw new TemplateError(
    `unknown variable '${path}'; use one of ${BUILTIN_VARIABLES.join(', ')}, params.NAME, xcom.STEP, xcom.STEP.KEY, or in a mapped step map.KEY and map_index`,
  );
}

function isoDate(logicalDate: string): string {
  return logicalDate.slice(0, 10);
}

/** The value of a variable in a run. A missing XCom is an error, never undefined. */
export function lookupVariable(variable: Variable, ctx: RunContext): Json {
  switch (variable.kind) {
    case 'builtin':
      switch (variable.name) {
        case 'ds':
          return isoDate(ctx.run.logicalDate);
        case 'ds_nodash':
          return isoDate(ctx.run.logicalDate).replaceAll('-', '');
        case 'logical_date':
        case 'ts':
          return ctx.run.logicalDate;
        case 'run_id':
          return ctx.run.runId;
        case 'pipeline_id':
          return ctx.run.pipelineId;
      }
      break;
    case 'param': {
      const value = ctx.run.params[variable.name];
      if (value === undefined) throw new TemplateError(`param '${variable.name}' has no value in this run`);
      return value;
    }
    case 'map_index':
      if (ctx.mapIndex === undefined) throw new TemplateError(`'map_index' has no value outside a mapped step`);
      return ctx.mapIndex;
    case 'map':
      if (ctx.map === undefined) throw new TemplateError(`'map' has no value outside a mapped step`);
      return walk(ctx.map, variable.keys, (walked) => `this index's map values have no key '${walked}'`);
    case 'xcom': {
      // Own properties only: a step named 'constructor' without XCom must not read Object.prototype.
      if (!Object.hasOwn(ctx.xcom, variable.step)) {
        throw new TemplateError(`step '${variable.step}' has no XCom in this run (it was skipped or returned nothing)`);
      }
      return walk(ctx.xcom[variable.step] as Json, variable.keys, (walked) => `XCom of step '${variable.step}' has no key '${walked}'`);
    }
  }
}

/** Follows `keys` into nested objects (own properties only); a missing key is a TemplateError. */
function walk(start: Json, keys: readonly string[], missing: (walked: string) => string): Json {
  let value: Json | undefined = start;
  const walked: string[] = [];
  for (const key of keys) {
    walked.push(key);
    value = value !== null && typeof value === 'object' && !Array.isArray(value) && Object.hasOwn(value, key) ? value[key] : undefined;
    if (value === undefined) throw new TemplateError(missing(walked.join('.')));
  }
  return value;
}
