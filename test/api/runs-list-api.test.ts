import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createRegistry } from '../../worker';
import type { RunState } from '../../contract';
import { pipeline } from '../../pipeline';
import { type Reply, callApi, startApi } from '../support/api';
import { type TestWorker, eventually, startDevServer, startWorker, step } from '../support/temporal';
import { echo, fail, train } from '../support/tasks';

const ok = pipeline({ id: 'list_ok' }, (p) => {
  p.task('say', echo, { text: 'hello {{ ds }}' });
});
const broken = pipeline({ id: 'list_broken' }, (p) => {
  const first = p.task('first', echo, { n: 1 });
  p.task('boom', fail, { message: 'boom on purpose' }, { after: [first] });
});
const slow = pipeline({ id: 'list_slow' }, (p) => {
  const first = p.task('first', echo, { n: 1 });
  p.task('long', train, { quality: 1, steps: 1200, everyMs: 100 }, { after: [first] });
});

describe('runs API: list, cancel, and the state of closed runs with no worker', () => {
  let env: TestWorkflowEnvironment;
  let worker: TestWorker | undefined;
  let app: INestApplication;
  let base: string;
  const ran: Record<string, string> = {};

  before(async () => {
    env = await startDevServer();
    worker = await startWorker(env, [ok, broken, slow]);
    ({ app, base } = await startApi({
      client: env.client,
      registry: createRegistry([{ pipeline: ok }, { pipeline: broken }, { pipeline: slow }]),
      taskQueue: worker.taskQueue,
    }));
  });
  after(async () => {
    await app?.close();
    await worker?.stop();
    await env?.teardown();
  });

  const call = (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> => callApi(base, method, path, body);

  async function ended(runId: string): Promise<RunState> {
    return eventually(`run ${runId} to end`, async () => {
      const { status, body } = await call('GET', `/runs/${runId}`);
      const state = body as unknown as RunState;
      return status === 200 && state.status !== 'running' ? state : undefined;
    });
  }

  it('cancels a running run (202), then refuses to cancel it again (409) and an unknown run (404)', async () => {
    const started = await call('POST', '/pipelines/list_slow/runs', { idempotencyKey: 'slow-1', logicalDate: '2026-03-03' });
    assert.equal(started.status, 201, JSON.stringify(started.body));
    await eventually('the long step to run', async () => {
      const { body } = await call('GET', '/runs/slow-1');
      return step(body as unknown as RunState, 'long').state === 'running' ? true : undefined;
    });
    const cancelled = await call('POST', '/runs/slow-1/cancel');
    assert.equal(cancelled.status, 202, JSON.stringify(cancelled.body));
    const state = await ended('slow-1');
    assert.equal(state.status, 'cancelled');
    // The state says cancelled while the run still records it; the execution closes after.
    await assert.rejects(env.client.workflow.getHandle('slow-1').result(), /cancel/i);
    const again = await call('POST', '/runs/slow-1/cancel');
    assert.equal(again.status, 409);
    assert.match(String(again.body.message), /has ended already \(cancelled\)/);
    const unknown = await call('POST', '/runs/no-such-run/cancel');
    assert.equal(unknown.status, 404);
    ran.cancelled = 'slow-1';
  });

  it('lists runs with filters, a page at a time', async () => {
    for (const [key, date] of [['ok-1', '2026-03-01'], ['ok-2', '2026-03-02']] as const) {
      assert.equal((await call('POST', '/pipelines/list_ok/runs', { idempotencyKey: key, logicalDate: date })).status, 201);
      await ended(key);
    }
    assert.equal((await call('POST', '/pipelines/list_broken/runs', { idempotencyKey: 'broken-1', logicalDate: '2026-03-01' })).status, 201);
    assert.equal((await ended('broken-1')).status, 'failed');
    ran.succeeded = 'ok-1';
    ran.failed = 'broken-1';

    const all = await eventually('visibility to hold four runs', async () => {
      const { status, body } = await call('GET', '/runs');
      const runs = (body.runs as { runId: string; state: string }[] | undefined) ?? [];
      return status === 200 && runs.length === 4 && runs.every((r) => r.state !== 'running') ? runs : undefined;
    });
    assert.deepEqual(all.map((r) => r.runId).sort(), ['broken-1', 'ok-1', 'ok-2', 'slow-1']);

    const onlyOk = await call('GET', '/runs?pipeline=list_ok');
    assert.deepEqual((onlyOk.body.runs as { runId: string }[]).map((r) => r.runId).sort(), ['ok-1', 'ok-2']);
    const failed = await call('GET', '/runs?state=failed');
    assert.deepEqual((failed.body.runs as { runId: string; pipelineId: string }[]).map((r) => [r.runId, r.pipelineId]), [['broken-1', 'list_broken']]);
    const day = await call('GET', '/runs?pipeline=list_ok&from=2026-03-02&to=2026-03-03');
    assert.deepEqual((day.body.runs as { runId: string; logicalDate: string }[]).map((r) => [r.runId, r.logicalDate]), [['ok-2', '2026-03-02T00:00:00.000Z']]);

    // Two pages of two, then no cursor: every run once.
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Reply = await call('GET', `/runs?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      seen.push(...(page.body.runs as { runId: string }[]).map((r) => r.runId));
      cursor = page.body.nextCursor as string | null;
      pages++;
    } while (cursor && pages < 5);
    assert.ok(pages >= 2, `expected at least two pages, got ${pages}`);
    // A cursor pages the filters it was given for, and no others.
    const first = await call('GET', '/runs?limit=2');
    const other = await call('GET', `/runs?limit=2&pipeline=list_ok&cursor=${String(first.body.nextCursor)}`);
    assert.equal(other.status, 400, JSON.stringify(other.body));
    assert.match(String((other.body.message as string[])[0]), /^cursor is not one this API gave out for these filters/);
    assert.deepEqual(seen.sort(), ['broken-1', 'ok-1', 'ok-2', 'slow-1']);
  });

  it('is live and ready while a worker polls, and not ready for a task queue no worker polls', async () => {
    const live = await call('GET', '/health');
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    const ready = await call('GET', '/ready');
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    assert.equal((ready.body.info as Record<string, { status: string; pollers?: number }>).worker?.status, 'up');
    const lonely = await startApi({ client: env.client, registry: createRegistry([{ pipeline: ok }]), taskQueue: 'nobody-polls-this' });
    try {
      const notReady = await callApi(lonely.base, 'GET', '/ready');
      assert.equal(notReady.status, 503, JSON.stringify(notReady.body));
      const down = (notReady.body.error as Record<string, { status: string; message?: string }>).worker;
      assert.equal(down?.status, 'down');
      assert.match(down?.message ?? '', /no worker polls task queue 'nobody-polls-this'/);
      assert.equal((notReady.body.info as Record<string, { status: string }>).temporal?.status, 'up');
      assert.equal((await callApi(lonely.base, 'GET', '/health')).status, 200);
    } finally {
      await lonely.app.close();
    }
  });

  it('refuses bad filters with a 400 naming the field', async () => {
    for (const [query, field] of [
      ['state=bogus', 'state'],
      ['limit=0', 'limit'],
      ['limit=abc', 'limit'],
      ['from=yesterday', 'from'],
      ['awaitingApproval=maybe', 'awaitingApproval'],
      ['cursor=%27%20OR%201%3D1', 'cursor'],
      ['cursor=bm90LWEtdG9rZW4', 'cursor'],
      ['pipeline=..%2F..%2Fetc', 'pipeline'],
      ['color=red', 'color'],
    ] as const) {
      const reply = await call('GET', `/runs?${query}`);
      assert.equal(reply.status, 400, `${query}: ${JSON.stringify(reply.body)}`);
      assert.ok((reply.body.message as string[]).some((m) => m.startsWith(field)), `${query}: ${JSON.stringify(reply.body.message)}`);
    }
  });

  it('reads closed runs with no worker running, and answers 503 for a running run no worker answers', async () => {
    assert.ok(ran.succeeded && ran.failed && ran.cancelled, 'the runs of the tests above');
    const running = await call('POST', '/pipelines/list_slow/runs', { idempotencyKey: 'slow-2' });
    assert.equal(running.status, 201);
    await eventually('the second slow run to start its long step', async () => {
      const { body } = await call('GET', '/runs/slow-2');
      return step(body as unknown as RunState, 'long').state === 'running' ? true : undefined;
    });
    // Positive control: with the worker up, the live query answers.
    assert.equal((await call('GET', '/runs/slow-2')).status, 200);
    await worker?.stop();
    worker = undefined;

    const succeeded = await call('GET', `/runs/${ran.succeeded}`);
    assert.equal(succeeded.status, 200, JSON.stringify(succeeded.body));
    assert.equal(succeeded.body.status, 'success');
    assert.deepEqual(step(succeeded.body as unknown as RunState, 'say').output, { text: 'hello 2026-03-01' });

    const failed = await call('GET', `/runs/${ran.failed}`);
    assert.equal(failed.status, 200, JSON.stringify(failed.body));
    const failedState = failed.body as unknown as RunState;
    assert.equal(failedState.status, 'failed');
    assert.equal(step(failedState, 'first').state, 'success');
    assert.equal(step(failedState, 'boom').state, 'failed');
    assert.match(step(failedState, 'boom').error ?? '', /boom on purpose/);
    assert.deepEqual(failedState.failedSteps, ['boom']);

    const cancelled = await call('GET', `/runs/${ran.cancelled}`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    const cancelledState = cancelled.body as unknown as RunState;
    assert.equal(cancelledState.status, 'cancelled');
    assert.equal(step(cancelledState, 'first').state, 'success');
    assert.notEqual(step(cancelledState, 'long').state, 'queued');

    const unanswered = await call('GET', '/runs/slow-2');
    assert.equal(unanswered.status, 503, JSON.stringify(unanswered.body));
    assert.match(String(unanswered.body.message), /start a worker/);
    await env.client.workflow.getHandle('slow-2').terminate('test over');
  });
});
