/** The approvals endpoints end to end: a real Nest app over HTTP, against the dev server and a worker. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { ApprovalResult, RunState } from '../../contract';
import { pipeline } from '../../pipeline';
import { createRegistry } from '../../worker';
import { type Reply, callApi, startApi } from '../support/api';
import { echo } from '../support/tasks';
import { type TestWorker, eventually, startDevServer, startWorker, states, step } from '../support/temporal';

const gated = pipeline({ id: 'api_gated' }, (p) => {
  const register = p.task('register', echo, { version: 4, auc: 0.91 });
  const gate = p.approval('gate', { model: 'churn', version: register.get('version'), timeout: '2d', details: { auc: register.get('auc') } });
  p.task('deploy', echo, { approver: gate.get('approver') });
});

describe('approvals API', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  let app: INestApplication;
  let base: string;

  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [gated]);
    ({ app, base } = await startApi({ client: env.client, registry: createRegistry([{ pipeline: gated }]), taskQueue: worker.taskQueue }));
  });
  after(async () => {
    await app?.close();
    await worker?.stop();
    await env?.teardown();
  });

  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> => callApi(base, method, path, body);

  const decide = (runId: string, body: Record<string, unknown>, stepId = 'gate') => call('POST', `/runs/${runId}/steps/${stepId}/approval`, body);
  const good = { decision: 'approve', modelName: 'churn', version: 4, approver: 'bob@example.com', comment: 'AUC up' };

  async function list(): Promise<Record<string, unknown>[]> {
    const reply = await call('GET', '/approvals');
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body as unknown as Record<string, unknown>[];
  }

  /** Starts a run started by `startedBy` and waits until GET /approvals lists its gate. */
  async function startWaiting(runId: string, startedBy?: string): Promise<Record<string, unknown>> {
    const created = await call('POST', '/pipelines/api_gated/runs', { idempotencyKey: runId, logicalDate: '2026-03-01', ...(startedBy ? { startedBy } : {}) });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    return eventually(`GET /approvals to list ${runId}`, async () => (await list()).find((a) => a.runId === runId), 30_000);
  }

  async function runState(runId: string): Promise<RunState> {
    const reply = await call('GET', `/runs/${runId}`);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    return reply.body as unknown as RunState;
  }

  it('lists a waiting approval with what an approver needs, and who started the run', async () => {
    const listed = await startWaiting('api-approval-list', 'alice@example.com');
    const state = await runState('api-approval-list');
    assert.equal(state.run.startedBy, 'alice@example.com');
    const approval = step(state, 'gate').approval;
    assert.ok(approval);
    assert.deepEqual(listed, {
      runId: 'api-approval-list',
      pipelineId: 'api_gated',
      stepId: 'gate',
      modelName: 'churn',
      version: '4',
      requestedAt: approval.requestedAt,
      deadline: approval.deadline,
      startedBy: 'alice@example.com',
      details: { auc: 0.91 },
      // This worker has no tracking server: no metrics from MLflow.
      metrics: null,
    });
    assert.equal(Date.parse(approval.deadline) - Date.parse(approval.requestedAt), 2 * 86_400_000);
  });

  it('answers 409 for a stale version and for the starter approving, and the run keeps waiting', async () => {
    await startWaiting('api-approval-refused', 'alice@example.com');
    const stale = await decide('api-approval-refused', { ...good, version: 3 });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.match(String(stale.body.message), /^stale approval: step 'gate' waits on model 'churn' version 4, not version 3; review version 4/);
    const self = await decide('api-approval-refused', { ...good, approver: 'alice@example.com' });
    assert.equal(self.status, 409, JSON.stringify(self.body));
    assert.match(String(self.body.message), /alice@example.com started this run and cannot approve it/);
    const notWaiting = await decide('api-approval-refused', good, 'deploy');
    assert.equal(notWaiting.status, 409, JSON.stringify(notWaiting.body));
    assert.equal(notWaiting.body.message, "step 'deploy' is not waiting for approval; steps waiting for approval: gate");
    const state = await runState('api-approval-refused');
    assert.equal(state.status, 'running');
    assert.equal(step(state, 'gate').state, 'running');
    assert.equal(step(state, 'gate').approval?.decision, undefined);
    assert.ok((await list()).some((a) => a.runId === 'api-approval-refused'), 'still listed as waiting');
  });

  const invalid: { name: string; body: Record<string, unknown>; field: string; says?: RegExp }[] = [
    { name: 'no approver', body: { ...good, approver: undefined }, field: 'approver', says: /approver is required: who decides/ },
    { name: 'a blank approver', body: { ...good, approver: '  ' }, field: 'approver', says: /approver is required/ },
    { name: 'an unknown decision', body: { ...good, decision: 'maybe' }, field: 'decision', says: /'approve' or 'reject'/ },
    { name: 'no version', body: { ...good, version: undefined }, field: 'version', says: /version is required/ },
    { name: 'a version that is no version', body: { ...good, version: 1.5 }, field: 'version' },
    { name: 'no model name', body: { ...good, modelName: undefined }, field: 'modelName' },
    { name: 'a comment that is no text', body: { ...good, comment: 7 }, field: 'comment' },
    { name: 'an unknown field', body: { ...good, urgent: true }, field: 'urgent', says: /remove it/ },
  ];
  invalid.forEach(({ name, body, field, says }) => {
    it(`answers 400 naming the field for ${name}, and the run keeps waiting`, async () => {
      const runId = 'api-approval-invalid';
      if (!(await list()).some((a) => a.runId === runId)) await startWaiting(runId);
      const reply = await decide(runId, body);
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      const problems = reply.body.message as string[];
      const named = problems.filter((p) => p.includes(field));
      assert.ok(named.length > 0, `no problem names '${field}': ${JSON.stringify(problems)}`);
      if (says) assert.ok(named.some((p) => says.test(p)), JSON.stringify(problems));
      assert.equal(step(await runState(runId), 'gate').approval?.decision, undefined);
    });
  });

  it("answers 400 for a blank startedBy, and 404 for an unknown run's approval", async () => {
    const blank = await call('POST', '/pipelines/api_gated/runs', { idempotencyKey: 'api-approval-blank-starter', startedBy: ' ' });
    assert.equal(blank.status, 400, JSON.stringify(blank.body));
    assert.ok((blank.body.message as string[]).some((p) => p.startsWith('startedBy must name who starts the run')), JSON.stringify(blank.body));
    const unknown = await decide('no-such-run', good);
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.message, "no run with id 'no-such-run'");
  });

  it('approves with 200 and the decision, the run finishes, and a decision on the ended run is 409', async () => {
    await startWaiting('api-approval-good', 'alice@example.com');
    await startWaiting('api-approval-other');
    const reply = await decide('api-approval-good', good);
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const record = reply.body as unknown as ApprovalResult;
    assert.deepEqual({ ...record, decidedAt: undefined }, { decision: 'approved', approver: 'bob@example.com', decidedAt: undefined, comment: 'AUC up', modelName: 'churn', version: '4' });
    assert.ok(!Number.isNaN(Date.parse(record.decidedAt)));
    const state = await eventually('the approved run to end', async () => {
      const s = await runState('api-approval-good');
      return s.status === 'running' ? undefined : s;
    });
    assert.equal(state.status, 'success');
    assert.deepEqual(states(state), { register: 'success', gate: 'success', deploy: 'success' });
    assert.deepEqual(step(state, 'deploy').output, { approver: 'bob@example.com' });
    // The other run, still waiting, is the control: the list is fresh, and the decided run is not on it.
    await eventually('GET /approvals to drop the decided run', async () => {
      const ids = (await list()).map((a) => a.runId);
      return ids.includes('api-approval-other') && !ids.includes('api-approval-good') ? true : undefined;
    });
    const late = await decide('api-approval-good', { ...good, decision: 'reject' });
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.match(String(late.body.message), /^run 'api-approval-good' has ended \(completed\); it waits for no approval$/);
  });

  it('rejects with 200, the starter may, and the followers are skipped', async () => {
    await startWaiting('api-approval-reject', 'alice@example.com');
    const reply = await decide('api-approval-reject', { ...good, decision: 'reject', approver: 'alice@example.com', version: '4' });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.decision, 'rejected');
    const state = await eventually('the rejected run to end', async () => {
      const s = await runState('api-approval-reject');
      return s.status === 'running' ? undefined : s;
    });
    assert.deepEqual(states(state), { register: 'success', gate: 'success', deploy: 'skipped' });
    assert.match(step(state, 'deploy').error ?? '', /rejected by alice@example.com/);
  });
});
