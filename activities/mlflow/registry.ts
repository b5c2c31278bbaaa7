/**
 * The registry steps' activities: register a model version, compare a candidate
 * with the version behind an alias, promote (move the alias). Each is
 * idempotent under retry; each failure names the model, version or metric.
 */
import { Context } from '@temporalio/activity';
import { type TryRef, failure } from '../../contract';
import type { ApprovalRecord, Comparison, CompiledCompareBaselineConfig, CompiledPromoteConfig, Promotion, RegisterModelConfig, RegisteredVersion } from '../../pipeline';
import { type MlflowClient, type ModelVersion, quoteFilterValue, tagClause, tagOf } from './client';
import { TRAINYARD_TAGS, guarded } from './tracking';

/** Configs as a try gets them: templates rendered, references resolved. */
type Rendered<C> = { [K in keyof C]: C[K] extends string | undefined ? C[K] : unknown };

export type RegisterModelInput = TryRef & Rendered<RegisterModelConfig>;
export type CompareBaselineInput = TryRef & Rendered<CompiledCompareBaselineConfig>;
export type PromoteInput = TryRef & Rendered<CompiledPromoteConfig>;

/** Tags the registry steps write on versions. */
export const REGISTRY_TAGS = {
  /** `<run id> <step id>`: which step registered the version, so a retry finds it. */
  registeredBy: 'trainyard.registered_by',
  comparedWith: 'trainyard.compared_with',
  shouldPromote: 'trainyard.should_promote',
  /** `trainyard.previous.<alias>`: the version the alias left when it moved here. */
  previousPrefix: 'trainyard.previous.',
  /** `trainyard.replaced_by.<alias>`: the version that took the alias from this one. */
  replacedByPrefix: 'trainyard.replaced_by.',
  promotedBy: 'trainyard.promoted_by',
  /** `trainyard.approval.<field>`: an approval step's decision on the version. */
  approvalPrefix: 'trainyard.approval.',
} as const;

/** A model version as an approver sees it: the metrics of the run that produced it. */
export interface VersionSummary {
  runId: string | null;
  metrics: Record<string, number>;
}

/** How long a new version may stay PENDING_REGISTRATION (the server copying its files). */
const REGISTRATION_DEADLINE_MS = 5 * 60_000;

const wrong = (where: string, message: string): Error => failure('registryError', `${where}: ${message}`);

function text(where: string, field: string, value: unknown, required = true): string | undefined {
  if (value === undefined || value === null || value === '') {
    if (required) throw wrong(where, `${field} rendered empty; check the template or reference it comes from`);
    return undefined;
  }
  if (typeof value !== 'string' && typeof value !== 'number') throw wrong(where, `${field} must be a string, got ${JSON.stringify(value)}`);
  return String(value);
}

function versionOf(where: string, value: unknown): string {
  const version = text(where, 'version', value) as string;
  if (!/^\d+$/.test(version)) throw wrong(where, `version '${version}' is not a model version number`);
  return version;
}

function numberOf(where: string, field: string, value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  if (!Number.isFinite(n)) throw wrong(where, `${field} ${JSON.stringify(value)} is not a number`);
  return n;
}

/** Float noise off a difference of two metrics, so 0.98 - 0.97 compares as 0.01. */
const tidy = (n: number): number => Math.round(n * 1e12) / 1e12;

/**
 * `mlflow(what)` gives the client, or throws naming `what` when the worker has no
 * tracking server; `configured` says beforehand whether it has one.
 */
export function createRegistryActivities(mlflow: (what: string) => MlflowClient, configured: boolean) {
  /** A version's value of `metric`, from the MLflow run that produced it. */
  const metricOf = async (api: MlflowClient, where: string, version: ModelVersion, metric: string, role: string): Promise<number> => {
    if (!version.run_id) {
      throw wrong(where, `${role} version ${version.version} of '${version.name}' has no MLflow run, so it has no '${metric}'; register it with a runId`);
    }
    const run = await api.getRun(version.run_id);
    const found = run.data.metrics?.find((m) => m.key === metric);
    if (!found) {
      const known = (run.data.metrics ?? []).map((m) => m.key).sort();
      throw wrong(where, `${role} version ${version.version} of '${version.name}' has no metric '${metric}' in its run ${version.run_id} (it has: ${known.join(', ') || 'none'}); log it there, or compare on a metric both versions have`);
    }
    return found.value;
  };

  return {
    /** A new version of the model from `source`, tagged with the run and step; a retry finds it instead. */
    async registerModel(input: RegisterModelInput): Promise<{ xcom: RegisteredVersion }> {
      const where = `step '${input.stepId}'`;
      const api = mlflow(where);
      const model = text(where, 'model', input.model) as string;
      const source = text(where, 'source', input.source) as string;
      const runId = text(where, 'runId', input.runId, false);
      const modelId = text(where, 'modelId', input.modelId, false);
      const registeredBy = `${input.run.runId} ${input.stepId}`;
      return guarded(async () => {
        const filter = `name = ${quoteFilterValue(model)} and ${tagClause(REGISTRY_TAGS.registeredBy, registeredBy)}`;
        const [found] = await api.searchModelVersions(filter);
        if (found) return { xcom: { model, version: found.version, source: found.source ?? source, runId: found.run_id || null, created: false } };
        await api.createRegisteredModel(model);
        let version = await api.createModelVersion({
          name: model,
          source,
          ...(runId !== undefined ? { runId } : {}),
          ...(modelId !== undefined ? { modelId } : {}),
          ...(typeof input.description === 'string' ? { description: input.description } : {}),
          tags: {
            ...(input.tags as Record<string, string> | undefined),
            [REGISTRY_TAGS.registeredBy]: registeredBy,
            [TRAINYARD_TAGS.pipelineId]: input.run.pipelineId,
            [TRAINYARD_TAGS.runId]: input.run.runId,
            [TRAINYARD_TAGS.stepId]: input.stepId,
          },
        });
        const deadline = Date.now() + REGISTRATION_DEADLINE_MS;
        while (version.status === 'PENDING_REGISTRATION') {
          if (Date.now() > deadline) throw wrong(where, `version ${version.version} of '${model}' is still being registered after 5 minutes`);
          Context.current().heartbeat({ version: version.version });
          await Context.current().sleep(1000);
          version = (await api.getModelVersion(model, version.version)) ?? version;
        }
        if (version.status === 'FAILED_REGISTRATION') throw wrong(where, `MLflow could not register version ${version.version} of '${model}' from ${source}`);
        return { xcom: { model, version: version.version, source: version.source ?? source, runId: version.run_id || null, created: true } };
      });
    },

    /** The candidate against the alias's version on one metric: the article's should-deploy decision. */
    async compareBaseline(input: CompareBaselineInput): Promise<{ xcom: Comparison }> {
      const where = `step '${input.stepId}'`;
      const api = mlflow(where);
      const model = text(where, 'model', input.model) as string;
      const version = versionOf(where, input.version);
      const alias = text(where, 'alias', input.alias) as string;
      const metric = text(where, 'metric', input.metric) as string;
      const mode = input.mode === 'min' ? 'min' : 'max';
      const minValue = numberOf(where, 'minValue', input.minValue) ?? null;
      const minImprovement = numberOf(where, 'minImprovement', input.minImprovement) ?? 0;
      return guarded(async () => {
        const candidate = await api.getModelVersion(model, version);
        if (!candidate) throw wrong(where, `registered model '${model}' has no version ${version}`);
        const value = await metricOf(api, where, candidate, metric, 'candidate');
        const champion = await api.getModelVersionByAlias(model, alias);
        // No champion yet: for 'max' it counts as 0, for 'min' there is nothing to beat.
        const baseline = champion ? await metricOf(api, where, champion, metric, `@${alias}`) : mode === 'max' ? 0 : null;
        const improvement = baseline === null ? null : tidy(mode === 'max' ? value - baseline : baseline - value);
        const clears = minValue === null || (mode === 'max' ? value >= minValue : value <= minValue);
        const improves = improvement === null || improvement >= minImprovement;
        const shouldPromote = clears && improves;
        const against = champion ? `@${alias} (version ${champion.version}, ${metric} ${baseline})` : `no @${alias} yet${baseline === null ? '' : ' (baseline 0)'}`;
        const reason = !clears
          ? `${metric} ${value} does not clear the minimum ${minValue} (${mode === 'max' ? 'at least' : 'at most'})`
          : !improves
            ? `${metric} ${value} against ${against}: improvement ${improvement} is below the minimum ${minImprovement}`
            : `${metric} ${value} against ${against}: ${improvement === null ? 'nothing to beat' : `improvement ${improvement} ≥ ${minImprovement}`}`;
        await api.setModelVersionTag(model, version, REGISTRY_TAGS.comparedWith, champion ? `${alias}=${champion.version}` : `${alias}=none`);
        await api.setModelVersionTag(model, version, REGISTRY_TAGS.shouldPromote, String(shouldPromote));
        return {
          xcom: {
            model,
            metric,
            mode,
            candidate: { version, value, runId: candidate.run_id || null },
            baseline: { alias, version: champion?.version ?? null, value: baseline },
            minValue,
            minImprovement,
            improvement,
            shouldPromote,
            reason,
          },
        };
      });
    },

    /** What approvers see of a version: its run's metrics. Null when the worker has no tracking server or MLflow lacks the version. */
    async describeModelVersion(input: TryRef & { model: string; version: string }): Promise<VersionSummary | null> {
      if (!configured) return null;
      const api = mlflow(`step '${input.stepId}'`);
      return guarded(async () => {
        const version = await api.getModelVersion(input.model, input.version);
        if (!version) return null;
        const run = version.run_id ? await api.getRun(version.run_id) : undefined;
        return { runId: version.run_id || null, metrics: Object.fromEntries((run?.data.metrics ?? []).map((m) => [m.key, m.value])) };
      });
    },

    /** An approval's decision as tags on the version (`trainyard.approval.*`); false when there is no tracking server to tell. */
    async tagApprovalDecision(input: TryRef & { record: ApprovalRecord }): Promise<boolean> {
      if (!configured) return false;
      const { record } = input;
      const api = mlflow(`step '${input.stepId}'`);
      return guarded(async () => {
        if (!(await api.getModelVersion(record.modelName, record.version))) {
          throw wrong(`step '${input.stepId}'`, `registered model '${record.modelName}' has no version ${record.version} to record the decision on`);
        }
        const tags: Record<string, string> = {
          decision: record.decision,
          approver: record.approver,
          decided_at: record.decidedAt,
          comment: record.comment ?? '',
          run_id: input.run.runId,
          step_id: input.stepId,
        };
        for (const [key, value] of Object.entries(tags)) await api.setModelVersionTag(record.modelName, record.version, `${REGISTRY_TAGS.approvalPrefix}${key}`, value);
        return true;
      });
    },

    /** Points the alias at the version; the version it replaced is tagged with its successor. */
    async promoteModel(input: PromoteInput): Promise<{ xcom: Promotion }> {
      const where = `step '${input.stepId}'`;
      const api = mlflow(where);
      const model = text(where, 'model', input.model) as string;
      const version = versionOf(where, input.version);
      const alias = text(where, 'alias', input.alias) as string;
      const previousTag = `${REGISTRY_TAGS.previousPrefix}${alias}`;
      return guarded(async () => {
        const target = await api.getModelVersion(model, version);
        if (!target) throw wrong(where, `registered model '${model}' has no version ${version} to promote`);
        const current = await api.getModelVersionByAlias(model, alias);
        if (current?.version === version) {
          // Promoted already (by an earlier try, say): the previous holder is on the version's tag.
          const previous = tagOf(target, previousTag);
          return { xcom: { model, alias, version, previous: previous && previous !== 'none' ? previous : null, changed: false } };
        }
        // The version learns what it replaces before the alias moves, so a retry after the move still knows.
        await api.setModelVersionTag(model, version, previousTag, current?.version ?? 'none');
        await api.setModelVersionTag(model, version, REGISTRY_TAGS.promotedBy, `${input.run.runId} ${input.stepId}`);
        await api.setAlias(model, alias, version);
        if (current) await api.setModelVersionTag(model, current.version, `${REGISTRY_TAGS.replacedByPrefix}${alias}`, version);
        return { xcom: { model, alias, version, previous: current?.version ?? null, changed: true } };
      });
    },
  };
}
