/**
 * What a step kind is, in the pipeline layer: its builder method and its
 * compile step. Each kind is one module in this folder, registered in the
 * table of `index.ts`; the workflow layer has its own table of how a try of
 * each kind runs (workflows/kinds), and activities/ the I/O behind it.
 */
import type { StepHandle, StepOptions } from '../builder';
import { parseDuration } from '../duration';
import type { TaskDefinition } from '../task';
import type { VariableScope } from '../variables';

/** What a kind's compile step knows about the step and the pipeline around it. */
export interface CompileContext {
  /** `step 'id'`: every problem starts with it. */
  where: string;
  /** The step's direct followers (what a branch may choose). */
  followers: readonly string[];
  /** Variables the step's templates and conditions may use. */
  scope: VariableScope;
  /** Names of the task functions the worker has, when known. */
  taskNames?: readonly string[];
  /** Whether the step has a map (runs once per index). */
  mapped: boolean;
  /** Problems found; each starts with `where`. */
  problems: string[];
}

/** How a kind's builder method adds its step. */
export interface StepAdder {
  add<T>(kind: string, id: string, config: object, opts?: StepOptions): StepHandle<T>;
  /** Registers a task function the step calls; returns the name the spec uses. */
  useTask(fn: TaskDefinition<never, unknown>): string;
}

export interface KindDefinition<User extends object, Compiled extends User, Method extends string, Build> {
  /** The builder's method for this kind (`p.pod(...)`). */
  method: Method;
  /** Makes the method, given how to add a step. */
  build: (adder: StepAdder) => Build;
  /** Validates the config (pushing problems into ctx) and fills its defaults, once; idempotent. */
  compile(config: User, ctx: CompileContext): Compiled;
  /** XCom the step reads beyond its templates and references (a branch's conditions). */
  reads?(config: Compiled, scope: VariableScope): string[];
  /** The step is one try whatever the defaults say (a human decision is not retried): compiling sets its retries to 0. */
  oneTry?: boolean;
}

/** Identity for a kind definition, keeping its exact types. */
export function defineKind<User extends object, Compiled extends User, Method extends string, Build>(
  kind: KindDefinition<User, Compiled, Method, Build>,
): KindDefinition<User, Compiled, Method, Build> {
  return kind;
}

export const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

const DURATION_HINT = "write it like '30s', '5m', '4h' or '1h30m'";

/** A value as problems quote it: `'5 minutes'`, `'undefined'`, `'{"a":1}'`. */
function quoted(value: unknown): string {
  return `'${typeof value === 'string' ? value : value === undefined ? 'undefined' : JSON.stringify(value)}'`;
}

/**
 * Checks a duration field: a present one must parse (and be positive when asked);
 * an absent one is a problem only when `required`.
 */
export function checkDuration(ctx: Pick<CompileContext, 'where' | 'problems'>, field: string, value: unknown, how: { positive?: boolean; required?: boolean } = {}): void {
  if (value === undefined && !how.required) return;
  const parsed = typeof value === 'string' ? parseDuration(value) : undefined;
  if (parsed === undefined || (how.positive && parsed <= 0)) {
    ctx.problems.push(`${ctx.where}: ${field} ${quoted(value)} is not a ${how.positive ? 'positive ' : ''}duration; ${DURATION_HINT}`);
  }
}

/** Checks an optional field against the values it may take. */
export function checkEnum(ctx: CompileContext, field: string, value: unknown, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value as string)) {
    ctx.problems.push(`${ctx.where}: ${field} ${quoted(value)} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
}

/** Checks an optional boolean field. */
export function checkBoolean(ctx: CompileContext, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') ctx.problems.push(`${ctx.where}: ${field} must be true or false`);
}

/** Checks a field naming a registered task function. */
export function checkTaskName(ctx: CompileContext, field: string, name: unknown): void {
  if (typeof name !== 'string' || name === '') ctx.problems.push(`${ctx.where}: ${field} must name a registered task function`);
  else if (ctx.taskNames && !ctx.taskNames.includes(name)) {
    ctx.problems.push(`${ctx.where}: ${field} '${name}' is not registered with the worker; registered: ${ctx.taskNames.join(', ') || '(none)'}`);
  }
}

/** `value`, or `fallback` when it is undefined: how compile steps fill a default. */
export function orDefault<T>(value: T | undefined, fallback: T): T {
  return value === undefined ? fallback : value;
}
