/** What a run shows the outside: validation before work, search attributes, notify, schedules. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ScheduleNotFoundError, WorkflowFailedError } from '@temporalio/client';
import { type PipelineSpec, pipeline, specVersion } from '../../pipeline';
import { catchupWindowOf, ensureSchedules, scheduleIdOf } from '../../worker';
import { PIPELINE_RUN_WORKFLOW, type RunState, runStateQuery } from '../../contract';
import { historyText, withPlantedResult } from '../support/history';
import { echo, noop } from '../support/tasks';
import { type WebhookSink, startWebhookSink } from '../support/webhook';
import { eventually, runToEnd, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const SECRET_PATH = '/services/T000/B000/s3cr3t-webhook-path';

const notifying = pipeline({ id: 'notifying', params: { owner: 'ml-team' } }, (p) => {
  const metrics = p.task('metrics', echo, { accuracy: 0.97 });
  p.notify('tell', { webhookEnv: 'TEST_WEBHOOK', text: 'accuracy {{ xcom.metrics.accuracy }} for {{ params.owner }}', fields: { channel: '#ml' } }, { after: [metrics] });
  p.notify('tell_unset', { webhookEnv: 'NOT_SET_ANYWHERE', text: 'x' }, { after: [metrics], retries: 0 });
});

const scheduled = pipeline({ id: 'nightly', schedule: '@daily', maxActiveRuns: 1 }, (p) => {
  p.task('only', noop, null);
});

describe('the run seen from outside', () => {
  let hook: WebhookSink;
  before(async () => {
    hook = await startWebhookSink((path) => (path === SECRET_PATH ? 200 : 404));
  });
  const temporal = useWorkflowWorker([notifying, scheduled], () => ({ notifyEnv: { TEST_WEBHOOK: `${hook.url}${SECRET_PATH}` } }));
  after(() => {
    hook?.close();
  });

  it('rejects an invalid spec before any step runs, listing every problem', async () => {
    const spec: PipelineSpec = structuredClone(notifying.spec);
    spec.steps.push({ ...structuredClone(spec.steps[0]!), upstream: ['nowhere'] });
    const handle = await temporal.env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: temporal.worker.taskQueue,
      workflowId: `invalid-${Date.now()}`,
      args: [{ spec, params: { owner: 3 } }],
    });
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    const message = err.cause?.message ?? '';
    assert.match(message, /step 'metrics': duplicate id/);
    assert.match(message, /depends on unknown step 'nowhere'/);
    assert.match(message, /params\.owner must be a string/);
    const state = await handle.query(runStateQuery);
    assert.ok(state.steps.every((s) => s.state === 'queued'), 'no step ran');
  });

  it('refuses a spec whose version does not match its hash', async () => {
    const handle = await temporal.env.client.workflow.start(PIPELINE_RUN_WORKFLOW, {
      taskQueue: temporal.worker.taskQueue,
      workflowId: `tampered-${Date.now()}`,
      args: [{ spec: notifying.spec, pipelineVersion: '000000000000' }],
    });
    const err = await handle.result().then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof WorkflowFailedError);
    assert.match(err.cause?.message ?? '', /pipelineVersion '000000000000' does not match the spec's hash/);
  });

  it('notifies a webhook named by env var, and keeps the URL out of history and messages', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, notifying);
    assert.equal(step(state, 'tell').state, 'success');
    assert.deepEqual(hook.messages.at(-1), { path: SECRET_PATH, body: { text: 'accuracy 0.97 for ml-team', channel: '#ml' } });
    const unset = step(state, 'tell_unset');
    assert.equal(unset.state, 'failed');
    assert.match(unset.error ?? '', /NOT_SET_ANYWHERE is not set on the worker/);
    assert.match(error ?? '', /tell_unset/);
    const fetched = await temporal.env.client.workflow.getHandle(state.run.runId).fetchHistory();
    const history = historyText(fetched);
    assert.ok(history.includes('accuracy 0.97 for ml-team'), 'the search sees into payloads: it finds the text the notify step was given');
    assert.equal(history.includes('s3cr3t-webhook-path'), false);
    const leaked = withPlantedResult(fetched, { url: `${hook.url}${SECRET_PATH}` });
    assert.ok(historyText(leaked).includes('s3cr3t-webhook-path'), 'the search finds the URL where a step returned it');
  });

  it('records spec and version in the input and makes runs findable by search attributes', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, notifying, { workflowId: `findable-${Date.now()}` });
    assert.equal(state.run.pipelineVersion, specVersion(notifying.spec));
    assert.equal(state.run.pipelineVersion, notifying.version);
    const found = await eventually('the run in visibility', async () => {
      for await (const wf of temporal.env.client.workflow.list({ query: `TrainyardPipelineId = 'notifying' AND TrainyardRunState = 'failed' AND WorkflowId = '${state.run.runId}'` })) {
        return wf;
      }
      return undefined;
    });
    assert.equal(found.workflowId, state.run.runId);
    const described = await temporal.env.client.workflow.getHandle(state.run.runId).describe();
    assert.equal(described.typedSearchAttributes.get({ name: 'TrainyardPipelineVersion', type: 'KEYWORD' }), notifying.version);
    assert.equal(
      described.typedSearchAttributes.get({ name: 'TrainyardLogicalDate', type: 'DATETIME' })?.toISOString(),
      '2026-03-01T00:00:00.000Z',
    );
  });

  it('creates a Temporal Schedule for a scheduled pipeline; its runs get the scheduled time as logical date', async () => {
    const ids = await ensureSchedules(temporal.env.client, [scheduled, notifying], temporal.worker.taskQueue);
    assert.deepEqual(ids, [scheduleIdOf('nightly')]);
    const handle = temporal.env.client.schedule.getHandle(scheduleIdOf('nightly'));
    const described = await handle.describe();
    assert.equal(described.policies.overlap, 'BUFFER_ONE');
    assert.deepEqual(described.spec.calendars?.[0]?.hour, [{ start: 0, end: 0, step: 1 }]);
    await handle.trigger();
    const runId = await eventually('the triggered run', async () => (await handle.describe()).info.recentActions[0]?.action.workflow.workflowId);
    const { run } = (await temporal.env.client.workflow.getHandle(runId).result()) as RunState;
    assert.equal(run.pipelineVersion, scheduled.version);
    assert.equal(run.runner, 'local');
    assert.equal(run.startedBy, `schedule:${scheduleIdOf('nightly')}`, 'a scheduled run is started by its schedule');
    assert.ok(Math.abs(Date.parse(run.logicalDate) - Date.now()) < 60_000, `logical date ${run.logicalDate} is the trigger time`);

    const changed = pipeline({ id: 'nightly', schedule: '30 2 * * *', maxActiveRuns: 2 }, (p) => p.task('only', noop, null, { retries: 1 }));
    await ensureSchedules(temporal.env.client, [changed], temporal.worker.taskQueue);
    const updated = await handle.describe();
    assert.equal(updated.policies.overlap, 'ALLOW_ALL');
    assert.deepEqual(updated.spec.calendars?.[0]?.minute, [{ start: 30, end: 30, step: 1 }]);
    await handle.delete();
  });

  it('maps time zone, start and end, jitter and catchup onto the schedule', async () => {
    const zoned = pipeline(
      { id: 'zoned', schedule: '@hourly', timezone: 'Europe/Berlin', startDate: '2026-03-01', endDate: '2027-03-01T00:00:00Z', jitter: '5m', catchup: true },
      (p) => p.task('only', noop, null),
    );
    await ensureSchedules(temporal.env.client, [zoned], temporal.worker.taskQueue);
    const handle = temporal.env.client.schedule.getHandle(scheduleIdOf('zoned'));
    const described = await handle.describe();
    assert.equal(described.spec.timezone, 'Europe/Berlin');
    assert.equal(described.spec.startAt?.toISOString(), '2026-03-01T00:00:00.000Z');
    assert.equal(described.spec.endAt?.toISOString(), '2027-03-01T00:00:00.000Z');
    assert.equal(described.spec.jitter, 300_000);
    assert.equal(described.policies.catchupWindow, catchupWindowOf(true));
    const strict = pipeline({ id: 'zoned', schedule: '@hourly', catchup: false }, (p) => p.task('only', noop, null));
    await ensureSchedules(temporal.env.client, [strict], temporal.worker.taskQueue);
    assert.equal((await handle.describe()).policies.catchupWindow, 10_000);
    await handle.delete();
  });

  it('keeps a paused schedule paused, with its note, when the worker restarts', async () => {
    const paused = pipeline({ id: 'paused', schedule: '@daily' }, (p) => p.task('only', noop, null));
    await ensureSchedules(temporal.env.client, [paused], temporal.worker.taskQueue);
    const handle = temporal.env.client.schedule.getHandle(scheduleIdOf('paused'));
    await handle.pause('data source down until Monday');
    const changed = pipeline({ id: 'paused', schedule: '15 3 * * *' }, (p) => p.task('only', noop, null));
    await ensureSchedules(temporal.env.client, [changed], temporal.worker.taskQueue);
    const described = await handle.describe();
    assert.deepEqual(described.spec.calendars?.[0]?.minute, [{ start: 15, end: 15, step: 1 }], 'the restart did update the schedule');
    assert.equal(described.state.paused, true);
    assert.equal(described.state.note, 'data source down until Monday');
    await handle.delete();
  });

  it('deletes the schedule of a pipeline that dropped it, but not one on another task queue', async () => {
    const mine = pipeline({ id: 'dropped', schedule: '@daily' }, (p) => p.task('only', noop, null));
    const theirs = pipeline({ id: 'elsewhere', schedule: '@daily' }, (p) => p.task('only', noop, null));
    await ensureSchedules(temporal.env.client, [mine], temporal.worker.taskQueue);
    await ensureSchedules(temporal.env.client, [theirs], 'another-deployment');
    const unscheduled = (id: string) => pipeline({ id }, (p) => p.task('only', noop, null));
    await ensureSchedules(temporal.env.client, [unscheduled('dropped'), unscheduled('elsewhere')], temporal.worker.taskQueue);
    const gone = await temporal.env.client.schedule.getHandle(scheduleIdOf('dropped')).describe().then(() => false, (e: unknown) => e instanceof ScheduleNotFoundError);
    assert.equal(gone, true, 'the dropped schedule is deleted');
    const kept = temporal.env.client.schedule.getHandle(scheduleIdOf('elsewhere'));
    assert.equal((await kept.describe()).scheduleId, scheduleIdOf('elsewhere'), 'the other deployment keeps its schedule');
    await kept.delete();
  });
});
