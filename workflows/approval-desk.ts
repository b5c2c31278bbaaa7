/**
 * A run's approval desk: one per run, made by pipelineRun and handed to the
 * approval steps' tries through StepEnv. It takes the `approve` and `reject`
 * Updates and dispatches them by step id to the approval waiting there. Its
 * validators refuse what the run cannot take, so a refused decision leaves no
 * event in history and the step keeps waiting; an accepted one is in history
 * as the Update (its arguments and the decision it answered). Every decision,
 * by a person or by the deadline, is also written to the run's memo (history
 * and the Web UI show it), and the TrainyardAwaitingApproval search attribute
 * is true while any step waits. Deterministic.
 *
 *   const desk = new ApprovalDesk({ startedBy: ref.startedBy, show: (stepId, state) => ... });
 *   const state = desk.request('approve_model', { model: 'churn', version: '4', timeoutMs, details });
 *   await condition(() => state.decision !== undefined, timeoutMs);
 */
import { setHandler, upsertMemo, upsertSearchAttributes } from '@temporalio/workflow';
import {
  APPROVALS_MEMO_KEY,
  type ApprovalInput,
  type ApprovalResult,
  type ApprovalState,
  TIMEOUT_APPROVER,
  approveUpdate,
  failure,
  rejectUpdate,
  searchAttributes,
} from '../contract';
import type { Json } from '../pipeline';

/** What an approval step asks for. */
export interface ApprovalRequest {
  model: string;
  version: string;
  timeoutMs: number;
  details: Record<string, Json>;
  /** The version's metrics in MLflow, when known. */
  metrics?: Record<string, number>;
}

export interface ApprovalDeskOptions {
  /** The run's starter, who may not approve (self-approval); anyone may when absent. */
  startedBy?: string;
  /** Called once per request, with the state the desk keeps up to date (the step's `approval`). */
  show: (stepId: string, state: ApprovalState) => void;
}

type Decision = ApprovalResult['decision'];

const sameIdentity = (a: string, b: string): boolean => a.trim().toLowerCase() === b.trim().toLowerCase();

export class ApprovalDesk {
  /** Every request of the run, decided or not, by step id. */
  private readonly requests = new Map<string, ApprovalState>();
  /** Steps waiting now. */
  private readonly waiting = new Set<string>();
  /** Steps that stopped waiting without a decision, and why. */
  private readonly closed = new Map<string, string>();
  private readonly decisions: Record<string, ApprovalResult> = {};
  /** The search attribute's value as last upserted. */
  private awaiting: boolean | undefined;

  constructor(private readonly options: ApprovalDeskOptions) {
    setHandler(approveUpdate, (input: ApprovalInput) => this.decide('approved', input), {
      validator: (input: ApprovalInput) => this.check('approved', input),
      description: 'Approves the model version an approval step waits on; its followers run.',
    });
    setHandler(rejectUpdate, (input: ApprovalInput) => this.decide('rejected', input), {
      validator: (input: ApprovalInput) => this.check('rejected', input),
      description: 'Rejects the model version an approval step waits on; its followers are skipped.',
    });
  }

  /** Opens a request for `stepId`; its deadline is `timeoutMs` from now. */
  request(stepId: string, request: ApprovalRequest): ApprovalState {
    const now = Date.now();
    const state: ApprovalState = {
      model: request.model,
      version: request.version,
      requestedAt: new Date(now).toISOString(),
      deadline: new Date(now + request.timeoutMs).toISOString(),
      details: request.details,
      ...(request.metrics ? { metrics: request.metrics } : {}),
    };
    this.requests.set(stepId, state);
    this.waiting.add(stepId);
    this.closed.delete(stepId);
    this.options.show(stepId, state);
    this.publish();
    return state;
  }

  /** Records a decision (a person's, or the deadline's) on a waiting step. */
  settle(stepId: string, record: ApprovalResult): void {
    const state = this.requests.get(stepId);
    if (!state) return;
    state.decision = record;
    this.waiting.delete(stepId);
    this.decisions[stepId] = record;
    upsertMemo({ [APPROVALS_MEMO_KEY]: { ...this.decisions } });
    this.publish();
  }

  /** The step stopped waiting without a decision (its deadline failed it, or the run was cancelled). */
  close(stepId: string, why: string): void {
    if (!this.waiting.delete(stepId)) return;
    this.closed.set(stepId, why);
    this.publish();
  }

  private publish(): void {
    const awaiting = this.waiting.size > 0;
    if (awaiting === this.awaiting) return;
    this.awaiting = awaiting;
    upsertSearchAttributes([{ key: searchAttributes.awaitingApproval, value: awaiting }]);
  }

  /** The validator: throws, naming the fix, for a decision this run cannot take. */
  private check(decision: Decision, input: ApprovalInput): void {
    const problem = this.problem(decision, input);
    if (problem !== undefined) throw failure('approvalRefused', problem);
  }

  private decide(decision: Decision, input: ApprovalInput): ApprovalResult {
    // The validator ran just before; checking again keeps two decisions in one workflow task apart.
    this.check(decision, input);
    const state = this.requests.get(input.stepId) as ApprovalState;
    const record: ApprovalResult = {
      decision,
      approver: input.approver.trim(),
      decidedAt: new Date().toISOString(),
      comment: input.comment ?? null,
      modelName: state.model,
      version: state.version,
    };
    this.settle(input.stepId, record);
    return record;
  }

  /** Why the run cannot take this decision, or undefined when it can. Reads the input as sent: any client may send anything. */
  private problem(decision: Decision, input: unknown): string | undefined {
    if (typeof input !== 'object' || input === null) return 'send { stepId, modelName, version, approver, comment? }';
    const { stepId, modelName, version, approver, comment } = input as Partial<Record<keyof ApprovalInput, unknown>>;
    if (typeof stepId !== 'string' || stepId === '') return 'stepId is required: the id of the approval step to decide';
    const state = this.requests.get(stepId);
    const waitingNow = [...this.waiting].join(', ') || '(none)';
    if (state?.decision) {
      const d = state.decision;
      return `step '${stepId}' was already ${d.decision} by ${d.approver} at ${d.decidedAt}; a decision is final`;
    }
    if (!state || !this.waiting.has(stepId)) {
      const why = this.closed.get(stepId);
      return `step '${stepId}' is not waiting for approval${why ? ` (${why})` : ''}; steps waiting for approval: ${waitingNow}`;
    }
    if (typeof approver !== 'string' || approver.trim() === '') return 'approver is required: who decides, like alice@example.com';
    if (sameIdentity(approver, TIMEOUT_APPROVER)) return `approver '${TIMEOUT_APPROVER}' is reserved for decisions the deadline makes; name the person who decides`;
    if (modelName !== state.model) {
      return `step '${stepId}' waits on model '${state.model}' version ${state.version}, not on model '${String(modelName)}'; decide on the model it waits on`;
    }
    if (typeof version !== 'string' && typeof version !== 'number') {
      return `version is required: the version of model '${state.model}' you reviewed (step '${stepId}' waits on version ${state.version})`;
    }
    if (String(version).trim() !== state.version) {
      return `stale approval: step '${stepId}' waits on model '${state.model}' version ${state.version}, not version ${version}; review version ${state.version} and decide on it`;
    }
    if (decision === 'approved' && this.options.startedBy !== undefined && sameIdentity(approver, this.options.startedBy)) {
      return `${approver.trim()} started this run and cannot approve it; someone else must approve (the starter may reject)`;
    }
    if (comment !== undefined && typeof comment !== 'string') return 'comment must be text';
    return undefined;
  }
}
