/** Starts pipeline runs as `pipelineRun` workflows and reads their live state. */
import { createHash, randomBytes } from 'node:crypto';
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { type Client, type QueryDefinition, ServiceError, type WorkflowExecutionDescription, type WorkflowExecutionStatusName, WorkflowNotFoundError, isGrpcServiceError } from '@temporalio/client';
import { executionInfoFromRaw } from '@temporalio/client/lib/helpers';
import { type MapStateView, type TrialStateView, mapStateQuery, trialStateQuery } from '../../contract';
import { type Json, type Runner, resolveParams, resolveRunner } from '../../pipeline';
import {
  PIPELINE_RUN_WORKFLOW,
  type PipelineRunInput,
  type RunState,
  type S3ObjectEvent,
  runStateQuery,
  runsQuery,
  s3ObjectEventSignal,
  searchAttributes,
} from '../../contract';
import { PipelinesService } from '../pipelines/pipelines.service';
import { DEFAULT_RUNNER, TASK_QUEUE, TEMPORAL_CLIENT, TEMPORAL_UI_URL } from '../temporal/temporal.tokens';
import { closedRunState } from './closed-run';
import type { CreateRunDto } from './dto/create-run.dto';
import type { ListRunsDto, RunsPage } from './dto/list-runs.dto';
import type { RunCreated } from './dto/run-created';

/** How long a state query may wait for a worker to answer it. */
const QUERY_TIMEOUT_MS = 10_000;
const GRPC_DEADLINE_EXCEEDED = 4;
/**
 * A page cursor: Temporal's page token behind a check of the token and the query it pages,
 * so a cursor this API did not give out for this query is a 400, never a call that fails.
 */
function cursorCheck(token: Uint8Array, query: string): Buffer {
  return createHash('sha256').update(query).update(token).digest().subarray(0, 8);
}
function cursorOf(token: Uint8Array, query: string): string {
  return Buffer.concat([cursorCheck(token, query), token]).toString('base64url');
}
function tokenOf(cursor: string, query: string): Uint8Array {
  const raw = Buffer.from(cursor, 'base64url');
  const token = raw.subarray(8);
  if (token.length === 0 || !raw.subarray(0, 8).equals(cursorCheck(token, query))) throw new BadRequestException([BAD_CURSOR]);
  return token;
}
const BAD_CURSOR = 'cursor is not one this API gave out for these filters; pass the nextCursor of the previous page with the same filters, or leave it out for the first page';
/** Temporal's answer to a query no worker polls for: `no poller seen for task queue recently`. */
const GRPC_FAILED_PRECONDITION = 9;

/** A run's state from its execution status, for runs whose search attribute is not set yet. */
function stateOfStatus(status: WorkflowExecutionStatusName): string {
  return status === 'COMPLETED' ? 'success' : status === 'RUNNING' ? 'running' : status === 'CANCELLED' ? 'cancelled' : 'failed';
}

@Injectable()
export class RunsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    @Inject(TASK_QUEUE) private readonly taskQueue: string,
    @Inject(TEMPORAL_UI_URL) private readonly temporalUiUrl: string,
    @Inject(DEFAULT_RUNNER) private readonly defaultRunner: Runner | undefined,
    private readonly pipelines: PipelinesService,
  ) {}

  /**
   * Checks the request against the pipeline, then starts the workflow. Nothing
   * is started when any check fails; all failures are reported together.
   */
  async start(pipelineId: string, request: CreateRunDto): Promise<RunCreated> {
    const { spec } = this.pipelines.get(pipelineId);
    const problems = [...resolveParams(spec, request.params ?? {}).problems];
    let logicalDate = new Date();
    if (request.logicalDate != null) {
      logicalDate = new Date(request.logicalDate);
      if (Number.isNaN(logicalDate.getTime())) {
        problems.push(`logicalDate '${request.logicalDate}' is not a date this server can read; use a calendar date like 2026-03-01 or 2026-03-01T06:00:00Z`);
      }
    }
    if (problems.length > 0) throw new BadRequestException(problems);

    const isoDate = logicalDate.toISOString();
    const runId = request.idempotencyKey ?? `${spec.id}-${isoDate.slice(0, 10)}-${randomBytes(4).toString('hex')}`;
    const handle = await this.client.workflow.start(
      PIPELINE_RUN_WORKFLOW,
      this.runOptions(pipelineId, runId, logicalDate, request.runner, {
        ...(request.params ? { params: request.params as Record<string, Json> } : {}),
        ...(request.startedBy !== undefined ? { startedBy: request.startedBy.trim() } : {}),
      }),
    );
    return this.created(pipelineId, runId, isoDate, handle.firstExecutionRunId);
  }

  /**
   * Starts a run of the pipeline for a logical date with the S3 event as its first signal, or only
   * signals it when a run with that id is open (signal-with-start). A closed run with that id
   * is never started again: that is a WorkflowExecutionAlreadyStartedError.
   */
  async signalWithStart(pipelineId: string, runId: string, logicalDate: Date, event: S3ObjectEvent): Promise<RunCreated> {
    const handle = await this.client.workflow.signalWithStart(PIPELINE_RUN_WORKFLOW, {
      ...this.runOptions(pipelineId, runId, logicalDate, undefined),
      signal: s3ObjectEventSignal,
      signalArgs: [event],
    });
    return this.created(pipelineId, runId, logicalDate.toISOString(), handle.signaledRunId);
  }

  /**
   * What starting a run of the pipeline takes; a run id names one run forever (reuse is refused).
   * The runner is the request's, else the pipeline's, else this deployment's default.
   */
  private runOptions(pipelineId: string, runId: string, logicalDate: Date, runner: Runner | undefined, extra: Pick<PipelineRunInput, 'params' | 'startedBy'> = {}) {
    const { spec, version } = this.pipelines.get(pipelineId);
    const input: PipelineRunInput = {
      spec,
      pipelineVersion: version,
      ...extra,
      logicalDate: logicalDate.toISOString(),
      runner: resolveRunner({ request: runner, pipeline: spec.runner, deployment: this.defaultRunner }),
    };
    return {
      taskQueue: this.taskQueue,
      workflowId: runId,
      args: [input] as [PipelineRunInput],
      workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
      typedSearchAttributes: [
        { key: searchAttributes.pipelineId, value: spec.id },
        { key: searchAttributes.pipelineVersion, value: version },
        { key: searchAttributes.logicalDate, value: logicalDate },
      ],
    };
  }

  private created(pipelineId: string, runId: string, isoDate: string, temporalRunId: string): RunCreated {
    const { spec, version } = this.pipelines.get(pipelineId);
    return {
      runId,
      temporalRunId,
      pipelineId: spec.id,
      pipelineVersion: version,
      logicalDate: isoDate,
      links: {
        self: `/runs/${encodeURIComponent(runId)}`,
        temporalUi: `${this.temporalUiUrl}/namespaces/${encodeURIComponent(this.client.options.namespace)}/workflows/${encodeURIComponent(runId)}`,
      },
    };
  }

  /**
   * The run's live state, which a worker answers. An unknown run id surfaces as
   * WorkflowNotFoundError (404); no worker answering in time is a 503.
   */
  async state(runId: string): Promise<RunState> {
    const handle = this.client.workflow.getHandle(runId);
    const description = await this.describeRun(runId);
    if (description.status.name === 'RUNNING') return this.query(runId, runStateQuery);
    return closedRunState(this.client, handle, description.status.name);
  }

  /** The run's execution; 404 for an id that is not a pipeline run. */
  private async describeRun(runId: string): Promise<WorkflowExecutionDescription> {
    const description = await this.client.workflow.getHandle(runId).describe();
    if (description.type !== PIPELINE_RUN_WORKFLOW) throw new NotFoundException(`'${runId}' is not a pipeline run (it is a ${description.type} workflow)`);
    return description;
  }

  /**
   * Runs through Temporal visibility, newest first, a page at a time: `cursor` is the
   * previous page's `nextCursor`.
   */
  async list(filter: ListRunsDto): Promise<RunsPage> {
    const query = runsQuery({
      ...(filter.pipeline !== undefined ? { pipelineId: filter.pipeline } : {}),
      ...(filter.awaitingApproval !== undefined ? { awaitingApproval: filter.awaitingApproval } : {}),
      ...(filter.from !== undefined || filter.to !== undefined
        ? { logicalDate: { from: filter.from ?? '1970-01-01T00:00:00Z', to: filter.to ?? '9999-01-01T00:00:00Z' } }
        : {}),
    });
    const full = filter.state !== undefined ? `${query} AND ${searchAttributes.runState.name} = '${filter.state}'` : query;
    const nextPageToken = filter.cursor !== undefined ? tokenOf(filter.cursor, full) : undefined;
    const response = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.client.options.namespace,
      query: full,
      pageSize: filter.limit ?? 50,
      ...(nextPageToken ? { nextPageToken } : {}),
    });
    const runs = await Promise.all((response.executions ?? []).map(async (raw) => {
      const info = await executionInfoFromRaw(raw, this.client.options.loadedDataConverter, undefined, this.client.options.namespace);
      const attrs = info.typedSearchAttributes;
      const logicalDate = attrs.get(searchAttributes.logicalDate);
      const awaiting = attrs.get(searchAttributes.awaitingApproval);
      return {
        runId: info.workflowId,
        pipelineId: attrs.get(searchAttributes.pipelineId) ?? null,
        pipelineVersion: attrs.get(searchAttributes.pipelineVersion) ?? null,
        state: attrs.get(searchAttributes.runState) ?? stateOfStatus(info.status.name),
        logicalDate: logicalDate ? logicalDate.toISOString() : null,
        startedAt: info.startTime.toISOString(),
        endedAt: info.closeTime ? info.closeTime.toISOString() : null,
        awaitingApproval: awaiting ?? false,
        links: { self: `/runs/${encodeURIComponent(info.workflowId)}` },
      };
    }));
    const token = response.nextPageToken;
    return { runs, nextCursor: token && token.length > 0 ? cursorOf(token, full) : null };
  }

  /**
   * Asks the run to stop: its steps' pods are deleted and its processes killed, then it ends
   * as cancelled. 409 for a run that has ended already.
   */
  async cancel(runId: string): Promise<{ runId: string; cancelRequested: true }> {
    const description = await this.describeRun(runId);
    if (description.status.name !== 'RUNNING') throw new ConflictException(`run '${runId}' has ended already (${description.status.name.toLowerCase()}); only a running run can be cancelled`);
    await this.client.workflow.getHandle(runId).cancel();
    return { runId, cancelRequested: true };
  }

  /** A mapped step's coordinator: how many indices, and one letter of state per index. */
  async mapState(runId: string, stepId: string): Promise<MapStateView> {
    return this.query(`${runId}/${stepId}`, mapStateQuery, () => `run '${runId}' has no mapped step '${stepId}' that has started`);
  }

  /** One index of a mapped step: its values, rendered config and try. */
  async trial(runId: string, stepId: string, index: number): Promise<TrialStateView> {
    return this.query(`${runId}/${stepId}/${index}`, trialStateQuery, () => `run '${runId}' has no trial ${index} of step '${stepId}' (not mapped, not started yet, or out of range)`);
  }

  private async query<T>(workflowId: string, query: QueryDefinition<T>, notFound?: () => string): Promise<T> {
    try {
      return await this.client.withDeadline(Date.now() + QUERY_TIMEOUT_MS, () => this.client.workflow.getHandle(workflowId).query(query));
    } catch (err) {
      if (notFound && err instanceof WorkflowNotFoundError) throw new NotFoundException(notFound());
      const code = err instanceof ServiceError && isGrpcServiceError(err.cause) ? Number(err.cause.code) : undefined;
      if (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_FAILED_PRECONDITION) {
        throw new ServiceUnavailableException(
          `no worker answered the state query of running '${workflowId}'${code === GRPC_DEADLINE_EXCEEDED ? ` within ${QUERY_TIMEOUT_MS / 1000}s` : ' (none polls its task queue)'}; start a worker on the run's task queue (npm run worker)`,
        );
      }
      throw err;
    }
  }
}
