/**
 * Approval steps on a worker: the `approve` and `reject` Updates, what their
 * validators refuse (the run keeps waiting), reminders, the search attribute,
 * and what history records; the deadline's decisions on the time-skipping server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import {
  APPROVALS_MEMO_KEY,
  type ApprovalInput,
  type ApprovalResult,
  type RunState,
  approveUpdate,
  rejectUpdate,
  runStateQuery,
  runsQuery,
} from '../../contract';
import { pipeline } from '../../pipeline';
import { historyText } from '../support/history';
import { echo, noop } from '../support/tasks';
import { type WebhookSink, startWebhookSink } from '../support/webhook';
import { eventually, runToEnd, startRun, states, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

/** register -> gate -> (deploy, announce); the gate approves the version register returned. */
const gated = pipeline({ id: 'approval_gated', params: { model: 'churn' }, defaults: { retries: 2, retryDelay: '1s' } }, (p) => {
  const register = p.task('register', echo, { version: 4, auc: 0.91 });
  const gate = p.approval('gate', {
    model: '{{ params.model }}',
    version: register.get('version'),
    details: { auc: register.get('auc'), summary: 'auc {{ xcom.register.auc }} on {{ ds }}' },
  });
  p.task('deploy', echo, { approver: gate.get('approver'), version: gate.get('version'), decision: gate.get('decision') });
  p.task('announce', noop, null, { after: [gate] });
});

/** Two gates in a row, so the run still waits after the first is decided. */
const twoGates = pipeline({ id: 'approval_two_gates' }, (p) => {
  const gate = p.approval('gate', { model: 'churn', version: 7 });
  const deploy = p.task('deploy', noop, null, { after: [gate] });
  p.approval('final_gate', { model: 'churn', version: '7' }, { after: [deploy] });
});

/** A gate that reminds every second through the webhook in `$${hookEnv}`, then a quiet gate that keeps the run open. */
function reminding(id: string, hookEnv: string) {
  return pipeline({ id }, (p) => {
    const gate = p.approval('gate', { model: 'churn', version: 5, timeout: '5m', remindEvery: '1s', notify: { webhookEnv: hookEnv } });
    const deploy = p.task('deploy', noop, null, { after: [gate] });
    p.approval('final_gate', { model: 'churn', version: 5 }, { after: [deploy] });
  });
}
const remindA = reminding('approval_remind_a', 'HOOK_A');
const remindB = reminding('approval_remind_b', 'HOOK_B');
const remindBroken = reminding('approval_remind_broken', 'HOOK_BROKEN');

/** Decided by the deadline: reminded each day for 3 days, then rejected or failed. */
const onTimeout = (mode: 'reject' | 'fail') =>
  pipeline({ id: `approval_deadline_${mode}`, defaults: { retries: 3 } }, (p) => {
    const gate = p.approval('gate', { model: 'churn', version: 9, timeout: '3d', onTimeout: mode, remindEvery: '1d', notify: { webhookEnv: 'HOOK_DEADLINE' } });
    p.task('deploy', noop, null, { after: [gate] });
  });
const rejecting = onTimeout('reject');
const failing = onTimeout('fail');

const decision = (stepId: string, approver: string, extra: Partial<ApprovalInput> = {}): ApprovalInput => ({ stepId, modelName: 'churn', version: 4, approver, ...extra });

/** The run's state once `stepId` waits for its decision. */
function waiting(handle: WorkflowHandle, stepId = 'gate'): Promise<RunState> {
  return eventually(`step ${stepId} of ${handle.workflowId} to wait for approval`, async () => {
    const state = await handle.query(runStateQuery);
    const st = state.steps.find((s) => s.id === stepId);
    return st?.state === 'running' && st.approval !== undefined && st.approval.decision === undefined ? state : undefined;
  });
}

/** Asserts the Update is refused with a message matching `pattern`. */
async function refused(update: Promise<ApprovalResult>, pattern: RegExp): Promise<void> {
  await assert.rejects(update, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, `expected a refused Update, got ${String(err)}`);
    assert.match(err.cause?.message ?? '', pattern);
    return true;
  });
}

async function finalState(handle: WorkflowHandle): Promise<RunState> {
  await handle.result().catch(() => undefined);
  return handle.query(runStateQuery);
}

describe('approval steps on the dev server', () => {
  let hook: WebhookSink;
  before(async () => {
    hook = await startWebhookSink((path) => (path === '/broken' ? 500 : 200));
  });
  after(() => hook?.close());
  const temporal = useWorkflowWorker([gated, twoGates, remindA, remindB, remindBroken], () => ({
    notifyEnv: { HOOK_A: `${hook.url}/a`, HOOK_B: `${hook.url}/b`, HOOK_BROKEN: `${hook.url}/broken` },
  }));

  it('waits for a decision, shows what waits, and on approval runs every follower with the decision as XCom', async () => {
    const handle = await startRun(temporal.env, temporal.worker, gated, { startedBy: 'alice@example.com' });
    const state = await waiting(handle);
    const gate = step(state, 'gate');
    assert.equal(gate.maxAttempts, 1, 'an approval is one try, whatever the defaults say');
    assert.equal(state.run.startedBy, 'alice@example.com');
    assert.equal(step(state, 'deploy').state, 'queued');
    const approval = gate.approval;
    assert.ok(approval);
    assert.equal(approval.model, 'churn');
    assert.equal(approval.version, '4');
    assert.deepEqual(approval.details, { auc: 0.91, summary: 'auc 0.91 on 2026-03-01' });
    assert.equal(Date.parse(approval.deadline) - Date.parse(approval.requestedAt), 7 * 86_400_000, 'the default timeout is 7d');
    assert.match(gate.note ?? '', /waiting for approval of model 'churn' version 4 until /);

    const record = await handle.executeUpdate(approveUpdate, { args: [decision('gate', 'bob@example.com', { version: '4', comment: 'AUC up 2 points' })] });
    assert.equal(record.decision, 'approved');
    assert.equal(record.approver, 'bob@example.com');
    assert.equal(record.comment, 'AUC up 2 points');
    assert.equal(record.modelName, 'churn');
    assert.equal(record.version, '4');
    assert.ok(Date.parse(record.decidedAt) >= Date.parse(approval.requestedAt));

    const done = (await handle.result()) as RunState;
    assert.deepEqual(states(done), { register: 'success', gate: 'success', deploy: 'success', announce: 'success' });
    assert.deepEqual(step(done, 'gate').output, record);
    assert.deepEqual(step(done, 'gate').approval?.decision, record);
    assert.deepEqual(step(done, 'gate').chosen, ['deploy', 'announce']);
    assert.deepEqual(step(done, 'deploy').output, { approver: 'bob@example.com', version: '4', decision: 'approved' });

    const described = await handle.describe();
    assert.deepEqual(described.memo?.[APPROVALS_MEMO_KEY], { gate: record });
    const history = await handle.fetchHistory();
    assert.ok(historyText(history).includes('AUC up 2 points'), 'the decision and its comment are in history');
    const memos = (history.events ?? []).flatMap((e) => {
      const payload = e.workflowPropertiesModifiedEventAttributes?.upsertedMemo?.fields?.[APPROVALS_MEMO_KEY];
      return payload ? [defaultPayloadConverter.fromPayload(payload)] : [];
    });
    assert.deepEqual(memos, [{ gate: record }], 'the decision, as the XCom has it, is in history at the moment it was made');
  });

  it('on rejection succeeds with the decision as XCom and skips the followers, naming the step and the approver; the starter may reject', async () => {
    const handle = await startRun(temporal.env, temporal.worker, gated, { startedBy: 'alice@example.com' });
    await waiting(handle);
    const record = await handle.executeUpdate(rejectUpdate, { args: [decision('gate', 'alice@example.com', { comment: 'wrong data' })] });
    assert.equal(record.decision, 'rejected');
    const done = (await handle.result()) as RunState;
    assert.equal(done.status, 'success');
    assert.deepEqual(states(done), { register: 'success', gate: 'success', deploy: 'skipped', announce: 'skipped' });
    assert.deepEqual(step(done, 'gate').output, record);
    assert.deepEqual(step(done, 'gate').chosen, []);
    for (const id of ['deploy', 'announce']) {
      assert.equal(step(done, id).error, "approval 'gate' rejected model 'churn' version 4: rejected by alice@example.com");
    }
  });

  it('refuses a stale version, another model, an unknown step and a missing approver, and keeps waiting; then the right version approves', async () => {
    const handle = await startRun(temporal.env, temporal.worker, gated);
    await waiting(handle);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', 'bob', { version: 3 })] }), /^stale approval: step 'gate' waits on model 'churn' version 4, not version 3; review version 4/);
    await refused(handle.executeUpdate(rejectUpdate, { args: [decision('gate', 'bob', { version: '5' })] }), /stale approval: .* not version 5/);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', 'bob', { modelName: 'fraud' })] }), /waits on model 'churn' version 4, not on model 'fraud'/);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('deploy', 'bob')] }), /^step 'deploy' is not waiting for approval; steps waiting for approval: gate$/);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', '  ')] }), /^approver is required: who decides/);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', 'timeout')] }), /approver 'timeout' is reserved/);
    const still = await handle.query(runStateQuery);
    assert.equal(step(still, 'gate').state, 'running');
    assert.equal(step(still, 'gate').approval?.decision, undefined);
    assert.equal(step(still, 'deploy').state, 'queued');
    assert.equal(historyText(await handle.fetchHistory()).includes('fraud'), false, 'a refused decision leaves no trace in history');

    const record = await handle.executeUpdate(approveUpdate, { args: [decision('gate', 'bob')] });
    assert.equal(record.version, '4');
    assert.equal(((await handle.result()) as RunState).status, 'success');
  });

  it("refuses the run's starter approving (whatever the case), and takes another person's approval", async () => {
    const handle = await startRun(temporal.env, temporal.worker, gated, { startedBy: 'alice@example.com' });
    await waiting(handle);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', 'alice@example.com')] }), /^alice@example.com started this run and cannot approve it; someone else must approve/);
    await refused(handle.executeUpdate(approveUpdate, { args: [decision('gate', ' Alice@Example.com ')] }), /started this run and cannot approve it/);
    assert.equal(step(await handle.query(runStateQuery), 'gate').state, 'running');
    const record = await handle.executeUpdate(approveUpdate, { args: [decision('gate', 'carol@example.com')] });
    assert.equal(record.approver, 'carol@example.com');
    assert.equal(step((await handle.result()) as RunState, 'deploy').state, 'success');
  });

  it('refuses a second decision, saying who decided and when', async () => {
    const handle = await startRun(temporal.env, temporal.worker, twoGates);
    await waiting(handle);
    const first = await handle.executeUpdate(approveUpdate, { args: [{ stepId: 'gate', modelName: 'churn', version: 7, approver: 'bob' }] });
    await waiting(handle, 'final_gate');
    const again = { stepId: 'gate', modelName: 'churn', version: 7, approver: 'carol' };
    const already = new RegExp(`^step 'gate' was already approved by bob at ${first.decidedAt.replace(/\./g, '\\.')}; a decision is final$`);
    await refused(handle.executeUpdate(rejectUpdate, { args: [again] }), already);
    await refused(handle.executeUpdate(approveUpdate, { args: [again] }), already);
    const state = await handle.query(runStateQuery);
    assert.deepEqual(step(state, 'gate').output, first, 'the first decision stands');
    await handle.executeUpdate(approveUpdate, { args: [{ stepId: 'final_gate', modelName: 'churn', version: '7', approver: 'carol' }] });
    const done = (await handle.result()) as RunState;
    assert.deepEqual(states(done), { gate: 'success', deploy: 'success', final_gate: 'success' });
    assert.deepEqual(Object.keys((await handle.describe()).memo?.[APPROVALS_MEMO_KEY] as object), ['gate', 'final_gate']);
  });

  it('is findable by TrainyardAwaitingApproval while it waits, and no longer once decided', async () => {
    const handle = await startRun(temporal.env, temporal.worker, gated);
    await waiting(handle);
    const find = async (awaitingApproval: boolean): Promise<string[]> => {
      const ids: string[] = [];
      const query = `${runsQuery({ awaitingApproval })} AND WorkflowId = '${handle.workflowId}'`;
      for await (const wf of temporal.env.client.workflow.list({ query })) ids.push(wf.workflowId);
      return ids;
    };
    const waitingQuery = `${runsQuery({ open: true, awaitingApproval: true })} AND WorkflowId = '${handle.workflowId}'`;
    await eventually('the waiting run in visibility', async () => {
      for await (const wf of temporal.env.client.workflow.list({ query: waitingQuery })) return wf.workflowId;
      return undefined;
    });
    await handle.executeUpdate(approveUpdate, { args: [decision('gate', 'bob')] });
    await handle.result();
    await eventually('the decided run to show TrainyardAwaitingApproval = false', async () => ((await find(false)).length === 1 ? true : undefined));
    assert.deepEqual(await find(true), [], 'the decided run is no longer found as waiting');
    const described = await handle.describe();
    assert.equal(described.typedSearchAttributes.get({ name: 'TrainyardAwaitingApproval', type: 'BOOL' }), false);
  });

  it('stops waiting when the run is cancelled', async () => {
    const handle = await startRun(temporal.env, temporal.worker, twoGates);
    await waiting(handle);
    const attribute = { name: 'TrainyardAwaitingApproval', type: 'BOOL' } as const;
    assert.equal((await handle.describe()).typedSearchAttributes.get(attribute), true);
    await handle.cancel();
    const state = await finalState(handle);
    assert.equal(state.status, 'cancelled');
    assert.equal(step(state, 'gate').state, 'failed');
    assert.equal(step(state, 'gate').error, 'run cancelled');
    assert.equal(step(state, 'gate').approval?.decision, undefined);
    assert.equal((await handle.describe()).typedSearchAttributes.get(attribute), false);
  });

  it('sends reminders while it waits, naming run, step, model, version, the wait and the endpoint, and none once decided', async () => {
    const a = await startRun(temporal.env, temporal.worker, remindA);
    const b = await startRun(temporal.env, temporal.worker, remindB);
    const toA = () => hook.messages.filter((m) => m.path === '/a');
    const toB = () => hook.messages.filter((m) => m.path === '/b');
    await eventually('two reminders for each run', () => (toA().length >= 2 && toB().length >= 2 ? true : undefined), 30_000);
    const text = String(toA()[0]?.body.text);
    assert.match(text, new RegExp(`^Approval needed: model 'churn' version 5, waiting \\d+(\\.\\d)?s \\(run ${a.workflowId} of pipeline approval_remind_a, step 'gate'; deadline `));
    assert.ok(text.includes(`POST /runs/${a.workflowId}/steps/gate/approval`), text);
    assert.match(String(toA()[1]?.body.text), /waiting 2(\.\d)?s/);

    const approve = (stepId: string) => ({ args: [{ stepId, modelName: 'churn', version: 5, approver: 'bob' }] as [ApprovalInput] });
    await a.executeUpdate(approveUpdate, approve('gate'));
    // A lives on, at its second gate: any reminder of the first would still go out.
    const stateA = await waiting(a, 'final_gate');
    assert.equal(step(stateA, 'gate').state, 'success');
    assert.equal(step(stateA, 'gate').note, undefined);
    const sentToA = toA().length;
    const seenByB = toB().length;
    // The control: three more intervals pass (B keeps getting reminded), and A gets none of them.
    await eventually('three more reminders for the run still waiting', () => (toB().length >= seenByB + 3 ? true : undefined), 30_000);
    assert.equal(toA().length, sentToA, 'no reminder after the decision');
    await a.executeUpdate(approveUpdate, approve('final_gate'));
    await b.executeUpdate(rejectUpdate, approve('gate'));
    assert.equal(((await a.result()) as RunState).status, 'success');
    assert.deepEqual(states((await b.result()) as RunState), { gate: 'success', deploy: 'skipped', final_gate: 'skipped' });
  });

  it('logs a failed reminder and keeps waiting', async () => {
    const handle = await startRun(temporal.env, temporal.worker, remindBroken);
    const state = await eventually('a failed reminder in the note', async () => {
      const s = await handle.query(runStateQuery);
      return /reminders? sent \(the last failed: .*answered 500\)/.test(step(s, 'gate').note ?? '') ? s : undefined;
    }, 30_000);
    assert.equal(step(state, 'gate').state, 'running');
    assert.ok(hook.messages.some((m) => m.path === '/broken'), 'the reminders reached the webhook');
    await handle.executeUpdate(rejectUpdate, { args: [{ stepId: 'gate', modelName: 'churn', version: 5, approver: 'bob' }] });
    const done = await finalState(handle);
    assert.equal(done.status, 'success');
    assert.equal(step(done, 'gate').state, 'success', 'failed reminders never fail the step');
    assert.equal(step(done, 'gate').note, undefined);
  });
});

describe('approval deadlines on the time-skipping server', () => {
  let hook: WebhookSink;
  before(async () => {
    hook = await startWebhookSink();
  });
  after(() => hook?.close());
  const temporal = useWorkflowWorker([rejecting, failing], () => ({ server: 'time-skipping', notifyEnv: { HOOK_DEADLINE: `${hook.url}/deadline` } }));

  it("with onTimeout 'reject', the deadline rejects (approver 'timeout') and the followers are skipped; a reminder went out each day", async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, rejecting);
    assert.equal(error, undefined);
    const gate = step(state, 'gate');
    assert.equal(gate.state, 'success');
    const record = gate.output as ApprovalResult;
    const deadline = gate.approval?.deadline ?? '';
    assert.equal(Date.parse(deadline) - Date.parse(gate.approval?.requestedAt ?? ''), 3 * 86_400_000);
    assert.deepEqual(record, {
      decision: 'rejected',
      approver: 'timeout',
      decidedAt: record.decidedAt,
      comment: `no decision by the deadline ${deadline} (timeout 3d)`,
      modelName: 'churn',
      version: '9',
    });
    assert.ok(Date.parse(record.decidedAt) >= Date.parse(deadline));
    assert.equal(step(state, 'deploy').state, 'skipped');
    assert.match(step(state, 'deploy').error ?? '', /^approval 'gate' rejected model 'churn' version 9: rejected by its deadline \(no decision by the deadline/);
    const reminders = hook.messages.filter((m) => String(m.body.text).includes(`run ${state.run.runId} `));
    assert.equal(reminders.length, 2, 'one reminder after 1d and one after 2d, none at the deadline');
    assert.match(String(reminders[1]?.body.text), /waiting 48h0m/);
    assert.deepEqual((await temporal.env.client.workflow.getHandle(state.run.runId).describe()).memo?.[APPROVALS_MEMO_KEY], { gate: record });
  });

  it("with onTimeout 'fail', the step fails at the deadline, once, naming it", async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, failing);
    const gate = step(state, 'gate');
    assert.equal(gate.state, 'failed');
    assert.equal(gate.attempt, 1);
    assert.equal(gate.maxAttempts, 1, 'the defaults ask for 3 retries; an approval is one try');
    assert.equal(gate.error, `no one approved or rejected model 'churn' version 9 by the deadline ${gate.approval?.deadline} (timeout 3d)`);
    assert.equal(gate.approval?.decision, undefined);
    assert.equal(step(state, 'deploy').state, 'upstream_failed');
    assert.match(error ?? '', /gate: no one approved or rejected/);
  });
});
