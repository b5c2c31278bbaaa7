/**
 * `{{ ... }}` templates in string fields, rendered inside the workflow from the
 * run's context, so rendering is deterministic and replays identically.
 *
 *   '--date {{ ds }}'                      -> '--date 2026-03-01'
 *   '{{ xcom.evaluate_model.accuracy }}'   -> '0.97'
 *   '{{ xcom.deploy_model.url | default("none") }}'
 *
 * An unknown variable is an error, never an empty string. Objects render as JSON.
 */
import { TemplateError } from './errors';
import type { Json, XComRef } from './types';
import { type RunContext, type Variable, type VariableScope, lookupVariable, parseVariable } from './variables';

const TEMPLATE = /\{\{(.*?)\}\}/g;

interface Expression {
  variable: Variable;
  fallback?: Json;
}

/** Parses a literal used in templates and conditions: numbers, quoted strings, true/false/null. */
export function parseLiteral(text: string): { value: Json } | undefined {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(t)) return { value: Number(t) };
  if (/^'[^']*'$/.test(t) || /^"[^"]*"$/.test(t)) return { value: t.slice(1, -1) };
  if (t === 'true') return { value: true };
  if (t === 'false') return { value: false };
  if (t === 'null') return { value: null };
  return undefined;
}

function parseExpression(source: string, scope: VariableScope): Expression {
  const [head = '', ...filters] = source.split('|').map((part) => part.trim());
  if (!/^[A-Za-z_][\w.-]*$/.test(head)) {
    throw new TemplateError(`'{{${source}}}' is not a variable; write {{ NAME }} or {{ NAME | default(VALUE) }}`);
  }
  const expression: Expression = { variable: parseVariable(head, scope) };
  for (const filter of filters) {
    const match = /^default\((.*)\)$/.exec(filter);
    const literal = match ? parseLiteral(match[1] ?? '') : undefined;
    if (!literal) throw new TemplateError(`unknown filter '${filter}' in '{{${source}}}'; the only filter is default(VALUE)`);
    expression.fallback = literal.value;
  }
  return expression;
}

function toText(value: Json): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Every variable the templates of one string use; throws on the first bad one. */
export function templateVariables(text: string, scope: VariableScope): Variable[] {
  return [...text.matchAll(TEMPLATE)].map((m) => parseExpression(m[1] ?? '', scope).variable);
}

/** Renders one string. */
export function renderString(text: string, ctx: RunContext): string {
  return text.replace(TEMPLATE, (_whole, source: string) => {
    const expression = parseExpression(source, { stepIds: ctx.stepIds, paramNames: Object.keys(ctx.run.params), ...(ctx.map !== undefined ? { mapKeys: 'any' as const } : {}) });
    try {
      return toText(lookupVariable(expression.variable, ctx));
    } catch (err) {
      if (expression.fallback !== undefined && err instanceof TemplateError) return toText(expression.fallback);
      throw err;
    }
  });
}

export function isXComRef(value: unknown): value is XComRef {
  return typeof value === 'object' && value !== null && typeof (value as { $xcom?: unknown }).$xcom === 'string';
}

/** A typed reference to one of a mapped index's values: `{ $map: 'lr' }` renders to the value itself, not its text. */
export interface MapRef {
  $map: string;
}

export function isMapRef(value: unknown): value is MapRef {
  return typeof value === 'object' && value !== null && typeof (value as { $map?: unknown }).$map === 'string';
}

/** Renders every string and resolves every XCom and map reference inside a JSON-like value. */
export function renderValue(value: unknown, ctx: RunContext): unknown {
  if (typeof value === 'string') return renderString(value, ctx);
  if (Array.isArray(value)) return value.map((item) => renderValue(item, ctx));
  if (isXComRef(value)) {
    return lookupVariable({ kind: 'xcom', step: value.$xcom, keys: value.key === undefined ? [] : [value.key] }, ctx);
  }
  if (isMapRef(value)) return lookupVariable({ kind: 'map', keys: value.$map === '' ? [] : value.$map.split('.') }, ctx);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renderValue(v, ctx)]));
  }
  return value;
}

/**
 * Walks a config value and reports, for static checks, the steps it reads XCom
 * from (templates and typed references) and any template problem.
 */
export function scanValue(
  value: unknown,
  scope: VariableScope,
  found: { xcomSteps: Set<string>; problems: string[] } = { xcomSteps: new Set(), problems: [] },
): { xcomSteps: Set<string>; problems: string[] } {
  if (typeof value === 'string') {
    try {
      for (const variable of templateVariables(value, scope)) {
        if (variable.kind === 'xcom') found.xcomSteps.add(variable.step);
      }
    } catch (err) {
      found.problems.push(`in '${value}': ${(err as Error).message}`);
    }
  } else if (Array.isArray(value)) {
    for (const item of value) scanValue(item, scope, found);
  } else if (isXComRef(value)) {
    if (scope.stepIds.includes(value.$xcom)) found.xcomSteps.add(value.$xcom);
    else found.problems.push(`reads the output of '${value.$xcom}', which is no step of this pipeline`);
  } else if (isMapRef(value)) {
    try {
      parseVariable(value.$map === '' ? 'map' : `map.${value.$map}`, scope);
    } catch (err) {
      found.problems.push(`mapValue('${value.$map}'): ${(err as Error).message}`);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) scanValue(item, scope, found);
  }
  return found;
}
