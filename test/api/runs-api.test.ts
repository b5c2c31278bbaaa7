import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRegistry } from '../../worker';
import { type RunState, searchAttributes } from '../../contract';
import { type Reply, callApi, startApi } from '../support/api';
import { type TestWorker, eventually, startDevServer, startWorker, states, step } from '../support/temporal';
import { pipeline as echoPipeline } from '../fixtures/echo-pipeline';
import { mapValue, pipeline } from '../../pipeline';
import { echo } from '../support/tasks';

const mapped = pipeline({ id: 'api_mapped' }, (p) => {
  p.task('square', echo, { n: mapValue<number>('n'), label: 'n={{ map.n }}' }, { map: { expand: { n: [1, 2, 3] } } });
});

describe('runs API', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker;
  let app: INestApplication;
  let base: string;

  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [echoPipeline, mapped]);
    ({ app, base } = await startApi({
      client: env.client,
      registry: createRegistry([{ pipeline: echoPipeline }, { pipeline: mapped }]),
      taskQueue: worker.taskQueue,
      temporalUiUrl: 'http://ui.example/',
    }));
  });
  after(async () => {
    await app?.close();
    await worker?.stop();
    await env?.teardown();
  });

  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> => callApi(base, method, path, body);

  const startRun = (body: unknown, pipelineId = 'api_echo') => call('POST', `/pipelines/${pipelineId}/runs`, body);

  /** Polls GET /runs/:id until the run has ended. */
  async function finished(runId: string): Promise<RunState> {
    return eventually(`run ${runId} to end`, async () => {
      const { status, body } = await call('GET', `/runs/${runId}`);
      const state = body as unknown as RunState;
      return status === 200 && state.status !== 'running' ? state : undefined;
    });
  }

  /** The 400's problems, one string each. */
  function problemsOf(reply: Reply): string[] {
    assert.equal(reply.status, 400, JSON.stringify(reply.body));
    const { message } = reply.body;
    assert.ok(Array.isArray(message), `message should list the problems: ${JSON.stringify(reply.body)}`);
    return message as string[];
  }

  async function assertNotStarted(workflowId: string): Promise<void> {
    await assert.rejects(env.client.workflow.getHandle(workflowId).describe(), WorkflowNotFoundError);
  }

  it('lists the registered pipelines and shows one', async () => {
    const list = await call('GET', '/pipelines');
    assert.equal(list.status, 200);
    assert.deepEqual(list.body, [
      { id: 'api_echo', version: echoPipeline.version, schedule: null, runner: null, stepCount: 2, description: 'echoes its param and logical date' },
      { id: 'api_mapped', version: mapped.version, schedule: null, runner: null, stepCount: 1 },
    ]);
    const one = await call('GET', '/pipelines/api_echo');
    assert.equal(one.status, 200);
    assert.equal(one.body.version, echoPipeline.version);
    assert.deepEqual(one.body.spec, JSON.parse(JSON.stringify(echoPipeline.spec)));
    const graph = await call('GET', '/pipelines/api_mapped/graph');
    assert.equal(graph.status, 200);
    assert.deepEqual(graph.body, {
      id: 'api_mapped',
      version: mapped.version,
      nodes: [{ id: 'square', kind: 'task', group: null, triggerRule: 'all_success', map: { mode: 'product', keys: ['n'], fromUpstream: [], maxActive: null, maxMapLength: null } }],
      edges: [],
      groups: [],
    });
    assert.equal((await call('GET', '/pipelines/nope/graph')).status, 404);
    const unknown = await call('GET', '/pipelines/nope');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.message, "pipeline 'nope' is not registered; registered: api_echo, api_mapped");
  });

  it('starts a run that GET /runs/:id follows to success, with step states and XCom', async () => {
    const created = await startRun({ params: { threshold: 0.5 }, logicalDate: '2026-03-01', idempotencyKey: 'api-run-1' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { temporalRunId, ...rest } = created.body;
    assert.equal(typeof temporalRunId, 'string');
    assert.ok((temporalRunId as string).length > 0);
    assert.deepEqual(rest, {
      runId: 'api-run-1',
      pipelineId: 'api_echo',
      pipelineVersion: echoPipeline.version,
      logicalDate: '2026-03-01T00:00:00.000Z',
      links: { self: '/runs/api-run-1', temporalUi: 'http://ui.example/namespaces/default/workflows/api-run-1' },
    });

    const state = await finished('api-run-1');
    assert.equal(state.status, 'success');
    assert.equal(state.run.runId, 'api-run-1');
    assert.equal(state.run.runner, 'local');
    assert.deepEqual(states(state), { first: 'success', second: 'success' });
    assert.deepEqual(step(state, 'first').output, { threshold: '0.5', day: '2026-03-01' });
    assert.deepEqual(step(state, 'second').output, { day: '2026-03-01' });

    const description = await env.client.workflow.getHandle('api-run-1').describe();
    assert.equal(description.runId, temporalRunId);
    assert.equal(description.typedSearchAttributes.get(searchAttributes.pipelineId), 'api_echo');
    assert.equal(description.typedSearchAttributes.get(searchAttributes.pipelineVersion), echoPipeline.version);
    assert.equal(description.typedSearchAttributes.get(searchAttributes.logicalDate)?.toISOString(), '2026-03-01T00:00:00.000Z');
  });

  it('names a run after the pipeline and logical date when no key is given', async () => {
    const created = await startRun({ logicalDate: '2026-04-02T06:30:00+02:00' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.match(String(created.body.runId), /^api_echo-2026-04-02-[0-9a-f]{8}$/);
    assert.equal(created.body.logicalDate, '2026-04-02T04:30:00.000Z');
    const state = await finished(String(created.body.runId));
    assert.equal(state.status, 'success');
    assert.deepEqual(step(state, 'first').output, { threshold: '0.9', day: '2026-04-02' });
  });

  it('defaults the logical date to now', async () => {
    const startedAt = Date.now();
    const created = await startRun({});
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const logical = Date.parse(String(created.body.logicalDate));
    assert.ok(logical >= startedAt - 1000 && logical <= Date.now() + 1000, `logicalDate ${String(created.body.logicalDate)} is not now`);
    assert.equal((await finished(String(created.body.runId))).status, 'success');
  });

  it('refuses a reused idempotency key with 409, also after that run finished', async () => {
    const first = await startRun({ idempotencyKey: 'api-dup' });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    assert.equal((await finished('api-dup')).status, 'success');
    const again = await startRun({ idempotencyKey: 'api-dup', params: { threshold: 0.1 } });
    assert.equal(again.status, 409);
    assert.equal(again.body.message, "a run with id 'api-dup' already exists");
    assert.equal(again.body.runId, 'api-dup');
  });

  const invalid: { name: string; body: Record<string, unknown>; field: string; says?: RegExp }[] = [
    { name: 'an unknown param', body: { params: { nope: 1 } }, field: 'params.nope', says: /declared: threshold/ },
    { name: 'a param of the wrong type', body: { params: { threshold: 'high' } }, field: 'params.threshold', says: /must be a number/ },
    { name: 'params that are not an object', body: { params: [1, 2] }, field: 'params' },
    { name: 'a logicalDate that is not ISO-8601', body: { logicalDate: 'yesterday' }, field: 'logicalDate', says: /ISO-8601/ },
    { name: 'a logicalDate that is no calendar date', body: { logicalDate: '2026-02-30' }, field: 'logicalDate' },
    { name: 'an ISO-8601 week date JavaScript cannot read', body: { logicalDate: '2026-W10-1' }, field: 'logicalDate', says: /2026-W10-1/ },
    { name: 'an unknown body field', body: { priority: 'high' }, field: 'priority', says: /remove it/ },
    { name: 'an unknown runner', body: { runner: 'docker' }, field: 'runner', says: /'local' or 'kubernetes'/ },
  ];
  invalid.forEach(({ name, body, field, says }, i) => {
    it(`answers 400 naming the field for ${name}, and starts nothing`, async () => {
      const key = `api-invalid-${i}`;
      const problems = problemsOf(await startRun({ ...body, idempotencyKey: key }));
      const named = problems.filter((p) => p.includes(field));
      assert.ok(named.length > 0, `no problem names '${field}': ${JSON.stringify(problems)}`);
      if (says) assert.ok(named.some((p) => says.test(p)), `no problem about '${field}' matches ${String(says)}: ${JSON.stringify(problems)}`);
      await assertNotStarted(key);
    });
  });

  it('answers 400 for a malformed idempotency key', async () => {
    const problems = problemsOf(await startRun({ idempotencyKey: 'has spaces/and slashes' }));
    assert.ok(problems.some((p) => p.startsWith('idempotencyKey must be 1-200 characters')), JSON.stringify(problems));
    const tooLong = problemsOf(await startRun({ idempotencyKey: 'k'.repeat(201) }));
    assert.ok(tooLong.some((p) => p.includes('idempotencyKey')), JSON.stringify(tooLong));
  });

  it('lists every problem of a request at once', async () => {
    const problems = problemsOf(await startRun({ params: { nope: 1, threshold: 'x' }, idempotencyKey: 'api-invalid-many' }));
    assert.equal(problems.length, 2, JSON.stringify(problems));
    await assertNotStarted('api-invalid-many');
  });

  it('answers 404 for an unknown pipeline, and starts nothing', async () => {
    const reply = await startRun({ idempotencyKey: 'api-unknown-pipeline' }, 'nope');
    assert.equal(reply.status, 404);
    assert.equal(reply.body.message, "pipeline 'nope' is not registered; registered: api_echo, api_mapped");
    await assertNotStarted('api-unknown-pipeline');
  });

  it("shows a mapped step's indices and each one's rendered config", async () => {
    const created = await startRun({}, 'api_mapped');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const runId = String(created.body.runId);
    const state = await finished(runId);
    assert.equal(state.status, 'success');
    const overview = await call('GET', `/runs/${runId}/steps/square/trials`);
    assert.equal(overview.status, 200, JSON.stringify(overview.body));
    assert.equal(overview.body.total, 3);
    assert.equal(overview.body.states, 'sss');
    const trial = await call('GET', `/runs/${runId}/steps/square/trials/2`);
    assert.equal(trial.status, 200, JSON.stringify(trial.body));
    assert.deepEqual(trial.body.values, { n: 3 });
    assert.deepEqual((trial.body.config as { args: unknown }).args, { n: 3, label: 'n=3' });
    assert.equal(trial.body.state, 'success');
    const missing = await call('GET', `/runs/${runId}/steps/square/trials/7`);
    assert.equal(missing.status, 404);
    assert.match(String(missing.body.message), /no trial 7 of step 'square'/);
    assert.equal((await call('GET', `/runs/${runId}/steps/square/trials/two`)).status, 400);
  });

  it('answers 404 for an unknown run', async () => {
    const reply = await call('GET', '/runs/no-such-run');
    assert.equal(reply.status, 404);
    assert.equal(reply.body.message, "no run with id 'no-such-run'");
  });
});
