/**
 * An `approval` try: opens a request at the run's approval desk and waits in
 * the workflow (a durable timer, no activity, no worker slot) for the `approve`
 * or `reject` Update, sending a reminder every `remindEvery` meanwhile, until
 * the deadline decides by `onTimeout`. One try: nothing here is retried.
 * Once decided, and before the step settles, `tagModelVersion` is where the
 * decision goes to the model registry (MLflow).
 */
import { condition, isCancellation, log, proxyActivities } from '@temporalio/workflow';
import type { TrainyardActivities } from '../../activities';
import { TIMEOUT_APPROVER, type ApprovalResult, type ApprovalState, approvalPath, failure } from '../../contract';
import { type Json, formatDuration, parseDuration } from '../../pipeline';
import { BOOKKEEPING_RETRY } from '../tracking';
import type { StepOutcome, TryContext, TryRunner } from './try';

/** How long one reminder may take; a failed or slow one is logged, and the wait goes on. */
const REMINDER_TIMEOUT = '30s';

type ApprovalTry = TryContext<'approval'>;

/** The rendered model version as the desk compares it: 4 and '4' are the same. */
function versionText(value: unknown): string {
  if ((typeof value === 'string' && value.trim() !== '') || (typeof value === 'number' && Number.isFinite(value))) return String(value).trim();
  throw failure('templateError', `version rendered to ${JSON.stringify(value) ?? 'nothing'}, not a model version; it must give a number or text, like '4'`);
}

function modelText(value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value.trim();
  throw failure('templateError', `model rendered to ${JSON.stringify(value) ?? 'nothing'}, not a registered model's name`);
}

export const approvalTry: TryRunner<'approval'> = async (t) => {
  const { step, config, env } = t;
  const desk = env.approvals;
  if (!desk) throw failure('pipelineInvalid', `step '${step.id}': an approval step cannot be mapped`);
  const model = modelText(config.model);
  const version = versionText(config.version);
  const timeoutMs = parseDuration(config.timeout) ?? 0;
  const remindMs = config.remindEvery !== undefined ? (parseDuration(config.remindEvery) ?? 0) : 0;
  // What the version scored, for whoever decides (nothing when the worker has no tracking server),
  // read before the request is shown so that no one sees the request without its metrics.
  const summary = await registryActs.describeModelVersion({ ...t.ref, model, version }).catch((err: unknown) => {
    if (isCancellation(err)) throw err;
    log.warn('could not read the model version from MLflow; the approval waits without its metrics', { stepId: step.id, error: (err as Error).message });
    return null;
  });
  const state = desk.request(step.id, { model, version, timeoutMs, details: config.details as Record<string, Json>, ...(summary ? { metrics: summary.metrics } : {}) });
  const deadline = Date.parse(state.deadline);
  const decided = (): boolean => state.decision !== undefined;
  let reminders = 0;
  let lastReminderError: string | undefined;
  const showNote = (): void => {
    const sent = reminders > 0 ? `; ${reminders} reminder${reminders === 1 ? '' : 's'} sent${lastReminderError ? ` (the last failed: ${lastReminderError})` : ''}` : '';
    t.progress.note = `waiting for approval of model '${model}' version ${version} until ${state.deadline}${sent}`;
    t.changed();
  };
  showNote();
  try {
    let nextReminder = remindMs > 0 ? Date.parse(state.requestedAt) + remindMs : Number.POSITIVE_INFINITY;
    for (;;) {
      const wakeAt = Math.min(deadline, nextReminder);
      // At least 1 ms: a timeout of 0 would mean none.
      if (await condition(decided, Math.max(wakeAt - Date.now(), 1))) break;
      if (Date.now() >= deadline) break;
      if (Date.now() >= nextReminder) {
        reminders++;
        lastReminderError = await remind(t, state, reminders);
        showNote();
        while (nextReminder <= Date.now()) nextReminder += remindMs;
      }
    }
  } catch (err) {
    desk.close(step.id, isCancellation(err) ? 'the run was cancelled' : 'the step failed');
    throw err;
  }
  let record = state.decision;
  if (record === undefined) {
    if (config.onTimeout === 'fail') {
      desk.close(step.id, `no decision by its deadline ${state.deadline}`);
      throw failure('approvalTimeout', `no one approved or rejected model '${model}' version ${version} by the deadline ${state.deadline} (timeout ${config.timeout})`);
    }
    record = {
      decision: 'rejected',
      approver: TIMEOUT_APPROVER,
      decidedAt: new Date().toISOString(),
      comment: `no decision by the deadline ${state.deadline} (timeout ${config.timeout})`,
      modelName: model,
      version,
    };
    desk.settle(step.id, record);
  }
  await tagModelVersion(t, record);
  return outcomeOf(t, record);
};

/** The registry's activities for an approval: retried like bookkeeping, short each time. */
const registryActs = proxyActivities<TrainyardActivities>({ startToCloseTimeout: '1m', retry: BOOKKEEPING_RETRY });

/**
 * Once decided, and before any follower (a deploy) runs, the model version gets
 * the decision as tags in MLflow (`trainyard.approval.*`). The decision is also
 * the step's XCom, the Update in history and the run's memo; a registry that
 * cannot be told is logged and shown in the step's note, and the run goes on.
 */
async function tagModelVersion(t: ApprovalTry, record: ApprovalResult): Promise<void> {
  try {
    await registryActs.tagApprovalDecision({ ...t.ref, record });
  } catch (err) {
    if (isCancellation(err)) throw err;
    const message = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message;
    log.warn('could not record the decision on the model version in MLflow', { stepId: t.step.id, error: message });
    t.progress.note = `decided; MLflow was not told: ${message}`;
    t.changed();
  }
}

/** Approved: every follower runs. Rejected: none does, and each says who rejected at which step. */
function outcomeOf(t: ApprovalTry, record: ApprovalResult): StepOutcome {
  if (record.decision === 'approved') return { xcom: record, chosen: [...t.env.followers] };
  const by = record.approver === TIMEOUT_APPROVER ? `its deadline (${record.comment ?? 'no decision'})` : record.approver;
  return { xcom: record, chosen: [], notChosen: `approval '${t.step.id}' rejected model '${record.modelName}' version ${record.version}: rejected by ${by}` };
}

/**
 * One reminder through the notify activity; answers its failure's message (logged,
 * never the step's failure) or undefined when it was sent.
 */
async function remind(t: ApprovalTry, state: ApprovalState, n: number): Promise<string | undefined> {
  const { step, ref, config } = t;
  const target = config.notify ?? {};
  const { notify } = proxyActivities<TrainyardActivities>({
    activityId: `${step.id}#${ref.attempt}.reminder.${n}`,
    startToCloseTimeout: REMINDER_TIMEOUT,
    retry: { maximumAttempts: 1 },
  });
  const waited = formatDuration(Date.now() - Date.parse(state.requestedAt));
  const text =
    `Approval needed: model '${state.model}' version ${state.version}, waiting ${waited} ` +
    `(run ${ref.run.runId} of pipeline ${ref.run.pipelineId}, step '${step.id}'; deadline ${state.deadline}). ` +
    `Decide: POST ${approvalPath(ref.run.runId, step.id)} with { "decision": "approve" | "reject", "modelName", "version", "approver", "comment" }`;
  try {
    await notify({ ...ref, ...target, text });
    return undefined;
  } catch (err) {
    if (isCancellation(err)) throw err;
    let cause: unknown = err;
    while (cause instanceof Error && cause.cause instanceof Error) cause = cause.cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    log.warn('approval reminder failed; the step keeps waiting', { runId: ref.run.runId, stepId: step.id, reminder: n, error: message });
    return message;
  }
}
