/**
 * The model registry's steps (MLflow's, through the worker's tracking server):
 *
 *   const registered = p.registerModel('register', { model: 'production-model', source: best.get('model_source'), runId: best.get('mlflow_run_id') });
 *   const compared = p.compareBaseline('compare', { model: 'production-model', version: registered.get('version'), metric: 'test_accuracy', minValue: 0.9, minImprovement: 0.001 });
 *   p.promote('promote', { model: 'production-model', version: registered.get('version'), alias: 'champion' }, { after: [approved] });
 *
 * Each is idempotent under retry: registering finds the version an earlier try of
 * the same step made, promoting an alias that already points at the version
 * changes nothing. Numbers and versions may be templates or typed references.
 */
import type { StepHandle, StepOptions } from '../builder';
import { isXComRef } from '../template';
import type { XComRef } from '../types';
import { type CompileContext, checkEnum, defineKind, orDefault } from './kind';

/** A value given directly, as a template string, or as a typed reference to an XCom key. */
export type Valued<T> = T | string | XComRef;

/** What registering a model gives: the new (or found) version. */
export type RegisteredVersion = {
  model: string;
  version: string;
  source: string;
  runId: string | null;
  /** False when an earlier try of this step had registered it already. */
  created: boolean;
};

export interface RegisterModelConfig {
  /** The registered model's name (created when missing). */
  model: string;
  /** Where the model's files are: the logged model's artifact location, or `runs:/<run id>/<path>`. */
  source: Valued<string>;
  /** The MLflow run that produced the model. */
  runId?: Valued<string>;
  /** The MLflow 3 logged model's id (`m-...`), when it was logged as one. */
  modelId?: Valued<string>;
  description?: string;
  /** Extra tags on the version. */
  tags?: Record<string, string>;
}

export const BETTER = ['max', 'min'] as const;
export type Better = (typeof BETTER)[number];

export interface CompareBaselineConfig {
  model: string;
  /** The candidate version. */
  version: Valued<string | number>;
  /** The alias of the version to beat. @default 'champion' */
  alias?: string;
  /** The metric compared, read from each version's MLflow run. */
  metric: string;
  /** Whether higher ('max') or lower ('min') is better. @default 'max' */
  mode?: Better;
  /** The least (for 'min': the most) the candidate may score and still be promoted. */
  minValue?: Valued<number>;
  /** How much the candidate must beat the baseline by (inclusive). @default 0 */
  minImprovement?: Valued<number>;
}

export interface CompiledCompareBaselineConfig extends CompareBaselineConfig {
  alias: string;
  mode: Better;
  minImprovement: Valued<number>;
}

/** A comparison's XCom: both sides, and the decision. */
export type Comparison = {
  model: string;
  metric: string;
  mode: Better;
  candidate: { version: string; value: number; runId: string | null };
  /** The version behind the alias; `version` null when there is none yet (its value then counts as 0 for 'max'). */
  baseline: { alias: string; version: string | null; value: number | null };
  minValue: number | null;
  minImprovement: number;
  /** How much better the candidate is (positive is better, in either mode); null with no baseline to beat. */
  improvement: number | null;
  shouldPromote: boolean;
  reason: string;
};

export interface PromoteConfig {
  model: string;
  version: Valued<string | number>;
  /** @default 'champion' */
  alias?: string;
}

export interface CompiledPromoteConfig extends PromoteConfig {
  alias: string;
}

/** A promotion's XCom. */
export type Promotion = {
  model: string;
  alias: string;
  version: string;
  /** The version the alias pointed at before, or null. */
  previous: string | null;
  /** False when the alias pointed at the version already. */
  changed: boolean;
};

/** MLflow's rule for registered model names is loose; Trainyard asks for what every store accepts. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const ALIAS = /^[A-Za-z_][A-Za-z0-9_-]{0,254}$/;

const isTemplate = (value: unknown): boolean => typeof value === 'string' && value.includes('{{');

function checkModel(ctx: CompileContext, value: unknown): void {
  if (typeof value !== 'string' || (!isTemplate(value) && !MODEL_NAME.test(value))) {
    ctx.problems.push(`${ctx.where}: model must be a registered model's name (letters, digits, '_', '.', '-'), like 'production-model'`);
  }
}

function checkAlias(ctx: CompileContext, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || !ALIAS.test(value) || /^v\d+$/i.test(value) || value.toLowerCase() === 'latest')) {
    ctx.problems.push(`${ctx.where}: alias ${JSON.stringify(value)} must be a name like 'champion' (letters, digits, '_', '-'; not 'latest' or 'v<N>')`);
  }
}

/** A value that must end up a string: given, templated or referenced. */
function checkText(ctx: CompileContext, field: string, value: unknown, required: boolean): void {
  if (value === undefined) {
    if (required) ctx.problems.push(`${ctx.where}: ${field} is required`);
    return;
  }
  if (!(typeof value === 'string' && value !== '') && !isXComRef(value)) {
    ctx.problems.push(`${ctx.where}: ${field} must be a non-empty string, a template or a reference like step.get('key')`);
  }
}

/** A version: a whole number, a numeric string, a template or a reference. */
function checkVersion(ctx: CompileContext, value: unknown): void {
  const ok =
    (typeof value === 'number' && Number.isInteger(value) && value >= 1) ||
    (typeof value === 'string' && (isTemplate(value) || /^\d+$/.test(value))) ||
    isXComRef(value);
  if (!ok) ctx.problems.push(`${ctx.where}: version must be a model version (1, '3'), a template or a reference like register.get('version')`);
}

/** A number: given, a numeric string, a template or a reference. */
function checkNumber(ctx: CompileContext, field: string, value: unknown): void {
  if (value === undefined) return;
  const ok =
    (typeof value === 'number' && Number.isFinite(value)) ||
    (typeof value === 'string' && (isTemplate(value) || (value.trim() !== '' && Number.isFinite(Number(value))))) ||
    isXComRef(value);
  if (!ok) ctx.problems.push(`${ctx.where}: ${field} must be a number, a template like '{{ params.threshold }}' or a reference`);
}

function checkTags(ctx: CompileContext, tags: unknown): void {
  if (tags === undefined) return;
  if (tags === null || typeof tags !== 'object' || Array.isArray(tags) || !Object.values(tags).every((v) => typeof v === 'string')) {
    ctx.problems.push(`${ctx.where}: tags must be an object of tag name to string value`);
  } else if (Object.keys(tags).some((k) => k.startsWith('trainyard.'))) {
    ctx.problems.push(`${ctx.where}: tags may not start with 'trainyard.' (Trainyard's own tags)`);
  }
}

function notMapped(ctx: CompileContext, what: string): void {
  if (ctx.mapped) ctx.problems.push(`${ctx.where}: a ${what} step cannot be mapped; register, compare or promote once, after the map`);
}

export const registerModelKind = defineKind({
  method: 'registerModel',
  build: (adder) =>
    (id: string, config: RegisterModelConfig, opts?: StepOptions): StepHandle<RegisteredVersion> => adder.add('registerModel', id, config, opts),
  compile(config: RegisterModelConfig, ctx: CompileContext): RegisterModelConfig {
    checkModel(ctx, config.model);
    checkText(ctx, 'source', config.source, true);
    checkText(ctx, 'runId', config.runId, false);
    checkText(ctx, 'modelId', config.modelId, false);
    if (config.description !== undefined && typeof config.description !== 'string') ctx.problems.push(`${ctx.where}: description must be a string`);
    checkTags(ctx, config.tags);
    notMapped(ctx, 'registerModel');
    return config;
  },
});

export const compareBaselineKind = defineKind({
  method: 'compareBaseline',
  build: (adder) =>
    (id: string, config: CompareBaselineConfig, opts?: StepOptions): StepHandle<Comparison> => adder.add('compareBaseline', id, config, opts),
  compile(config: CompareBaselineConfig, ctx: CompileContext): CompiledCompareBaselineConfig {
    checkModel(ctx, config.model);
    checkVersion(ctx, config.version);
    checkAlias(ctx, config.alias);
    if (typeof config.metric !== 'string' || config.metric === '') ctx.problems.push(`${ctx.where}: metric must name the metric to compare, like 'test_accuracy'`);
    checkEnum(ctx, 'mode', config.mode, BETTER);
    checkNumber(ctx, 'minValue', config.minValue);
    checkNumber(ctx, 'minImprovement', config.minImprovement);
    notMapped(ctx, 'compareBaseline');
    return { ...config, alias: orDefault(config.alias, 'champion'), mode: orDefault(config.mode, 'max'), minImprovement: orDefault(config.minImprovement, 0) };
  },
});

export const promoteKind = defineKind({
  method: 'promote',
  build: (adder) =>
    (id: string, config: PromoteConfig, opts?: StepOptions): StepHandle<Promotion> => adder.add('promote', id, config, opts),
  compile(config: PromoteConfig, ctx: CompileContext): CompiledPromoteConfig {
    checkModel(ctx, config.model);
    checkVersion(ctx, config.version);
    checkAlias(ctx, config.alias);
    notMapped(ctx, 'promote');
    return { ...config, alias: orDefault(config.alias, 'champion') };
  },
});
