/**
 * A typed client for MLflow's REST API (tracking and model registry), over
 * fetch. Every call names itself in its errors; `RESOURCE_ALREADY_EXISTS` is an
 * answer, not an error, where creating is meant to be idempotent; 429, 5xx and
 * unreachable servers are retried with backoff up to a deadline.
 *
 *   const mlflow = new MlflowClient({ trackingUri: 'http://127.0.0.1:5000' });
 *   const experimentId = await mlflow.getOrCreateExperiment('daily-training');
 *   const run = await mlflow.createRun({ experimentId, runName: 'train', tags: { team: 'ml' } });
 *   await mlflow.logBatch(run.info.run_id, { metrics: [{ key: 'loss', value: 0.4, step: 1 }] });
 */

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

export interface KeyValue {
  key: string;
  value: string;
}

export interface Metric {
  key: string;
  value: number;
  /** ms since the epoch. @default now */
  timestamp?: number;
  /** @default 0 */
  step?: number;
}

export interface RunInfo {
  run_id: string;
  run_name?: string;
  experiment_id: string;
  status: RunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: string;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Required<Metric>[]; params?: KeyValue[]; tags?: KeyValue[] };
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: string;
  tags?: KeyValue[];
}

export interface ModelVersion {
  name: string;
  version: string;
  source?: string;
  run_id?: string;
  status?: string;
  creation_timestamp?: number;
  tags?: KeyValue[];
  aliases?: string[];
}

export interface RegisteredModel {
  name: string;
  creation_timestamp?: number;
  description?: string;
  tags?: KeyValue[];
  aliases?: { alias: string; version: string }[];
  latest_versions?: ModelVersion[];
}

/** An answer from MLflow that is an error: the call, the HTTP status and MLflow's `error_code`. */
export class MlflowError extends Error {
  override readonly name = 'MlflowError';
  constructor(
    readonly call: string,
    readonly status: number,
    /** MLflow's error code (`RESOURCE_DOES_NOT_EXIST`, ...), or `UNAVAILABLE` when the server could not be reached. */
    readonly errorCode: string,
    detail: string,
  ) {
    super(`MLflow ${call} failed: ${errorCode}${status ? ` (HTTP ${status})` : ''}: ${detail}`);
  }

  /** True when another attempt later may succeed: the server throttled, failed or was unreachable. */
  get transient(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface MlflowClientOptions {
  /** The tracking server's base URL, e.g. `http://127.0.0.1:5000`. */
  trackingUri: string;
  /** Per-request timeout, ms. @default 15000 */
  requestTimeoutMs?: number;
  /** How long transient failures are retried before the call fails, ms. @default 30000 */
  retryForMs?: number;
  /** First backoff, ms; doubles up to 5 s. @default 200 */
  initialBackoffMs?: number;
}

const MAX_BACKOFF_MS = 5_000;
/** MLflow's limits on one log-batch request. */
const BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 };

const toTags = (tags: Record<string, string> = {}): KeyValue[] => Object.entries(tags).map(([key, value]) => ({ key, value }));

/**
 * A filter string's quoted value. MLflow's filter grammar has no escapes: a value
 * is quoted with whichever quote it does not hold, and one holding both cannot be searched for.
 */
export function quoteFilterValue(value: string): string {
  if (!value.includes("'")) return `'${value}'`;
  if (!value.includes('"')) return `"${value}"`;
  throw new Error(`MLflow cannot search for a value holding both kinds of quote: ${value}`);
}

/** `tags.\`key\` = 'value'`: a tag clause for runs/search and model-versions/search (keys may hold dots). */
export function tagClause(key: string, value: string): string {
  return `tags.\`${key}\` = ${quoteFilterValue(value)}`;
}

/** A tag's value from a run's or version's tag list. */
export function tagOf(entity: { tags?: KeyValue[] } | { data: { tags?: KeyValue[] } }, key: string): string | undefined {
  const tags = 'data' in entity ? entity.data.tags : entity.tags;
  return tags?.find((t) => t.key === key)?.value;
}

export class MlflowClient {
  readonly trackingUri: string;
  /** The server's origin, as messages show it (never credentials in the URL). */
  private readonly shown: string;
  private readonly base: string;
  private readonly requestTimeoutMs: number;
  private readonly retryForMs: number;
  private readonly initialBackoffMs: number;

  constructor(options: MlflowClientOptions) {
    let url: URL;
    try {
      url = new URL(options.trackingUri);
    } catch {
      throw new Error(`MLflow tracking URI '${options.trackingUri}' is not a URL; use the server's address, like http://127.0.0.1:5000`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`MLflow tracking URI '${url.origin}' must be http:// or https:// (a tracking server; file stores have no REST API)`);
    }
    this.trackingUri = options.trackingUri.replace(/\/+$/, '');
    this.shown = url.origin;
    this.base = `${this.trackingUri}/api/2.0/mlflow`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.retryForMs = options.retryForMs ?? 30_000;
    this.initialBackoffMs = options.initialBackoffMs ?? 200;
  }

  // ---- experiments

  async getExperimentByName(name: string): Promise<Experiment | undefined> {
    const found = await this.optional(this.call<{ experiment: Experiment }>('GET', 'experiments/get-by-name', { experiment_name: name }));
    return found?.experiment;
  }

  async getExperiment(experimentId: string): Promise<Experiment> {
    return (await this.call<{ experiment: Experiment }>('GET', 'experiments/get', { experiment_id: experimentId })).experiment;
  }

  /** The experiment's id, creating it when missing (two callers at once both get the same one). */
  async getOrCreateExperiment(name: string, tags?: Record<string, string>): Promise<string> {
    const existing = await this.getExperimentByName(name);
    if (existing) return existing.experiment_id;
    try {
      return (await this.call<{ experiment_id: string }>('POST', 'experiments/create', { name, tags: toTags(tags) })).experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw err;
      const raced = await this.getExperimentByName(name);
      if (!raced) throw err;
      return raced.experiment_id;
    }
  }

  // ---- runs

  async createRun(input: { experimentId: string; runName?: string; startTime?: number; tags?: Record<string, string> }): Promise<Run> {
    const body = {
      experiment_id: input.experimentId,
      ...(input.runName !== undefined ? { run_name: input.runName } : {}),
      start_time: input.startTime ?? Date.now(),
      tags: toTags(input.tags),
    };
    return (await this.call<{ run: Run }>('POST', 'runs/create', body)).run;
  }

  async getRun(runId: string): Promise<Run> {
    return (await this.call<{ run: Run }>('GET', 'runs/get', { run_id: runId })).run;
  }

  async updateRun(runId: string, update: { status?: RunStatus; endTime?: number; runName?: string }): Promise<RunInfo> {
    const body = {
      run_id: runId,
      ...(update.status !== undefined ? { status: update.status } : {}),
      ...(update.endTime !== undefined ? { end_time: update.endTime } : {}),
      ...(update.runName !== undefined ? { run_name: update.runName } : {}),
    };
    return (await this.call<{ run_info: RunInfo }>('POST', 'runs/update', body)).run_info;
  }

  /** Runs matching `filter` (MLflow's filter grammar; see tagClause), newest first, every page. */
  async searchRuns(input: { experimentIds: string[]; filter?: string; maxResults?: number; orderBy?: string[] }): Promise<Run[]> {
    const runs: Run[] = [];
    let pageToken: string | undefined;
    const limit = input.maxResults ?? Number.POSITIVE_INFINITY;
    do {
      const page = await this.call<{ runs?: Run[]; next_page_token?: string }>('POST', 'runs/search', {
        experiment_ids: input.experimentIds,
        ...(input.filter ? { filter: input.filter } : {}),
        max_results: Math.min(1000, limit - runs.length),
        order_by: input.orderBy ?? ['attributes.start_time DESC'],
        ...(pageToken ? { page_token: pageToken } : {}),
      });
      runs.push(...(page.runs ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken && runs.length < limit);
    return runs;
  }

  async setRunTag(runId: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'runs/set-tag', { run_id: runId, key, value });
  }

  /** Metrics, params and tags in as many requests as MLflow's batch limits need. */
  async logBatch(runId: string, batch: { metrics?: Metric[]; params?: Record<string, string>; tags?: Record<string, string> }): Promise<void> {
    const now = Date.now();
    const metrics = (batch.metrics ?? []).map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp ?? now, step: m.step ?? 0 }));
    const params = toTags(batch.params);
    const tags = toTags(batch.tags);
    // Params and tags first (their limits are small), metrics after.
    while (params.length > 0 || tags.length > 0 || metrics.length > 0) {
      const p = params.splice(0, BATCH_LIMITS.params);
      const t = tags.splice(0, BATCH_LIMITS.tags);
      const m = metrics.splice(0, BATCH_LIMITS.total - p.length - t.length);
      await this.call('POST', 'runs/log-batch', { run_id: runId, metrics: m, params: p, tags: t });
    }
  }

  // ---- registered models and versions

  /** Creates the registered model; one that exists already is returned as it is. */
  async createRegisteredModel(name: string, options: { description?: string; tags?: Record<string, string> } = {}): Promise<RegisteredModel> {
    try {
      const body = { name, tags: toTags(options.tags), ...(options.description !== undefined ? { description: options.description } : {}) };
      return (await this.call<{ registered_model: RegisteredModel }>('POST', 'registered-models/create', body)).registered_model;
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_ALREADY_EXISTS') return (await this.getRegisteredModel(name)) as RegisteredModel;
      throw err;
    }
  }

  async getRegisteredModel(name: string): Promise<RegisteredModel | undefined> {
    const found = await this.optional(this.call<{ registered_model: RegisteredModel }>('GET', 'registered-models/get', { name }));
    return found?.registered_model;
  }

  async createModelVersion(input: { name: string; source: string; runId?: string; modelId?: string; description?: string; tags?: Record<string, string> }): Promise<ModelVersion> {
    const body = {
      name: input.name,
      source: input.source,
      ...(input.runId !== undefined ? { run_id: input.runId } : {}),
      ...(input.modelId !== undefined ? { model_id: input.modelId } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      tags: toTags(input.tags),
    };
    return (await this.call<{ model_version: ModelVersion }>('POST', 'model-versions/create', body)).model_version;
  }

  async getModelVersion(name: string, version: string): Promise<ModelVersion | undefined> {
    const found = await this.optional(this.call<{ model_version: ModelVersion }>('GET', 'model-versions/get', { name, version }));
    return found?.model_version;
  }

  /** Versions matching `filter` (e.g. `name = 'm' and tags.\`k\` = 'v'`), every page. */
  async searchModelVersions(filter: string): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    let pageToken: string | undefined;
    do {
      const query: Record<string, string> = { filter, max_results: '200000' };
      if (pageToken) query.page_token = pageToken;
      const page = await this.call<{ model_versions?: ModelVersion[]; next_page_token?: string }>('GET', 'model-versions/search', query);
      versions.push(...(page.model_versions ?? []));
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
    return versions;
  }

  async setModelVersionTag(name: string, version: string, key: string, value: string): Promise<void> {
    await this.call('POST', 'model-versions/set-tag', { name, version, key, value });
  }

  // ---- aliases

  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.call('POST', 'registered-models/alias', { name, alias, version });
  }

  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.call('DELETE', 'registered-models/alias', { name, alias });
  }

  /**
   * The version an alias points at, or undefined when the model has no such alias (or
   * no such model). Read from the registered model, whose alias list says so plainly.
   */
  async getModelVersionByAlias(name: string, alias: string): Promise<ModelVersion | undefined> {
    const model = await this.getRegisteredModel(name);
    const entry = model?.aliases?.find((a) => a.alias === alias);
    if (!entry) return undefined;
    return (await this.call<{ model_version: ModelVersion }>('GET', 'registered-models/alias', { name, alias })).model_version;
  }

  // ---- plumbing

  /** Resolves to undefined where MLflow says the thing does not exist. */
  private async optional<T>(request: Promise<T>): Promise<T | undefined> {
    try {
      return await request;
    } catch (err) {
      if (err instanceof MlflowError && err.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw err;
    }
  }

  private async call<T = unknown>(method: 'GET' | 'POST' | 'DELETE', path: string, body: Record<string, unknown>): Promise<T> {
    const deadline = Date.now() + this.retryForMs;
    for (let backoff = this.initialBackoffMs; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      try {
        return await this.once<T>(method, path, body);
      } catch (err) {
        if (!(err instanceof MlflowError) || !err.transient || Date.now() + backoff > deadline) throw err;
        await new Promise((resolve) => setTimeout(resolve, backoff));
      }
    }
  }

  private async once<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body: Record<string, unknown>): Promise<T> {
    const call = `${method} ${path}`;
    let url = `${this.base}/${path}`;
    const init: RequestInit = { method, signal: AbortSignal.timeout(this.requestTimeoutMs), headers: { 'content-type': 'application/json' } };
    if (method === 'GET') {
      url += `?${new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
    } else {
      init.body = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      const reason = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
      throw new MlflowError(call, 0, 'UNAVAILABLE', `cannot reach the tracking server at ${this.shown} (${reason})`);
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : {};
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const answer = parsed as { error_code?: string; message?: string } | undefined;
      const code = answer?.error_code ?? (response.status === 429 ? 'RATE_LIMITED' : `HTTP_${response.status}`);
      const detail = answer?.message ?? (text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200) || response.statusText);
      throw new MlflowError(call, response.status, code, detail);
    }
    if (parsed === undefined) throw new MlflowError(call, response.status, 'BAD_RESPONSE', `the answer is not JSON: ${text.slice(0, 200)}`);
    return parsed as T;
  }
}
