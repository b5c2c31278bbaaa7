/**
 * Approvals across runs: which approval steps wait (visibility finds the runs,
 * each run's state says which of its steps wait and on what), and deciding one
 * (the run's `approve` or `reject` Update, which the run refuses with its reason
 * when it cannot take it: 409, and the step keeps waiting).
 */
import { ConflictException, Inject, Injectable, ServiceUnavailableException } from '@nestjs/common';
import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { type ApprovalInput, type ApprovalResult, type RunState, approveUpdate, rejectUpdate, runsQuery } from '../../contract';
import { RunsService } from '../runs/runs.service';
import { TEMPORAL_CLIENT } from '../temporal/temporal.tokens';
import type { DecideApprovalDto } from './dto/decide-approval.dto';
import type { PendingApproval } from './dto/pending-approval';

/** How long a decision may wait for a worker to take it. */
const UPDATE_TIMEOUT_MS = 15_000;
/** Runs whose state is read at once while listing. */
const STATE_QUERIES_AT_ONCE = 8;

@Injectable()
export class ApprovalsService {
  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly client: Client,
    private readonly runs: RunsService,
  ) {}

  /** Every approval step waiting for a decision, the soonest deadline first. */
  async pending(): Promise<PendingApproval[]> {
    const runIds: string[] = [];
    for await (const run of this.client.workflow.list({ query: runsQuery({ open: true, awaitingApproval: true }) })) runIds.push(run.workflowId);
    const states: RunState[] = [];
    for (let i = 0; i < runIds.length; i += STATE_QUERIES_AT_ONCE) {
      const batch = await Promise.all(runIds.slice(i, i + STATE_QUERIES_AT_ONCE).map((id) => this.stateIfAny(id)));
      states.push(...batch.filter((s): s is RunState => s !== undefined));
    }
    return states
      .filter((state) => state.status === 'running')
      .flatMap((state) =>
        state.steps.flatMap((step): PendingApproval[] => {
          const { approval } = step;
          if (approval === undefined || approval.decision !== undefined || step.state !== 'running') return [];
          return [
            {
              runId: state.run.runId,
              pipelineId: state.run.pipelineId,
              stepId: step.id,
              modelName: approval.model,
              version: approval.version,
              requestedAt: approval.requestedAt,
              deadline: approval.deadline,
              startedBy: state.run.startedBy ?? null,
              details: approval.details,
              metrics: approval.metrics ?? null,
            },
          ];
        }),
      )
      .sort((a, b) => a.deadline.localeCompare(b.deadline) || a.runId.localeCompare(b.runId) || a.stepId.localeCompare(b.stepId));
  }

  /** A run's state; undefined for a run that is gone since visibility listed it. */
  private async stateIfAny(runId: string): Promise<RunState | undefined> {
    try {
      return await this.runs.state(runId);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Approves or rejects the model version a step waits on; answers the decision as recorded. */
  async decide(runId: string, stepId: string, body: DecideApprovalDto): Promise<ApprovalResult> {
    const input: ApprovalInput = {
      stepId,
      modelName: body.modelName,
      version: body.version,
      approver: body.approver,
      ...(body.comment !== undefined ? { comment: body.comment } : {}),
    };
    const update = body.decision === 'approve' ? approveUpdate : rejectUpdate;
    try {
      return await this.client.withDeadline(Date.now() + UPDATE_TIMEOUT_MS, () =>
        this.client.workflow.getHandle(runId).executeUpdate(update, { args: [input] }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw new ConflictException(err.cause?.message ?? err.message);
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        throw new ServiceUnavailableException(
          `no worker took the decision on run '${runId}' within ${UPDATE_TIMEOUT_MS / 1000}s; it may still be recorded: ` +
            `GET /runs/${encodeURIComponent(runId)} shows the step's approval, and sending it again is safe (a second decision is refused)`,
        );
      }
      if (err instanceof WorkflowNotFoundError) await this.refuseEnded(runId);
      throw err;
    }
  }

  /** A run that exists but has ended takes no decision: 409. One that does not exist falls through to 404. */
  private async refuseEnded(runId: string): Promise<void> {
    const description = await this.client.workflow.getHandle(runId).describe();
    if (description.status.name !== 'RUNNING') {
      throw new ConflictException(`run '${runId}' has ended (${description.status.name.toLowerCase()}); it waits for no approval`);
    }
  }
}
