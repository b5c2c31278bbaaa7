/** Starts pipeline runs as `pipelineRun` workflows and reads their live state. */
import { randomBytes } from 'node:crypto';
import { BadRequestException, Inject, Injectable, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { type Client, type QueryDefinition, ServiceError, WorkflowNotFoundError, isGrpcServiceError } from '@temporalio/client';
import { type MapStateView, type TrialStateView, mapStateQuery, trialStateQuery } from '../../contract';
import { type Json, type Runner, resolveParams, resolveRunner } from '../../pipeline';
import {
  PIPELINE_RUN_WORKFLOW,
  type PipelineRunInput,
  type RunState,
  type S3ObjectEvent,
  runStateQuery,
  s3ObjectEventSignal,
  searchAttributes,
} from '../../contract';
import { PipelinesService } from '../pipelines/pipelines.service';
import { DEFAULT_RUNNER, TASK_QUEUE, TEMPORAL_CLIENT, TEMPORAL_UI_URL } from '../temporal/temporal.tokens';
import type { CreateRunDto } from './dto/create-run.dto';
import type { RunCreated } from './dto/run-created';

/** How long a state query may wait for a worker to answer it. */
const QUERY_TIMEOUT_MS = 10_000;
const GRPC_DEADLINE_EXCEEDED = 4;

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
  state(runId: string): Promise<RunState> {
    return this.query(runId, runStateQuery);
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
      if (err instanceof ServiceError && isGrpcServiceError(err.cause) && Number(err.cause.code) === GRPC_DEADLINE_EXCEEDED) {
        throw new ServiceUnavailableException(
          `no worker answered the state query of '${workflowId}' within ${QUERY_TIMEOUT_MS / 1000}s; start a worker on the run's task queue (npm run worker)`,
        );
      }
      throw err;
    }
  }
}
