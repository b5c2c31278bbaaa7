/** pipeline sensors (ExternalTaskSensor) on a real Temporal dev server: other runs found through search attributes. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type WatchedRun, pipeline } from '../../pipeline';
import { type RunState, runStateQuery } from '../../contract';
import { fail, hold } from '../support/tasks';
import { eventually, runToEnd, startRun, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';
import { sensorHistory } from './history';

const producer = pipeline({ id: 'producer' }, (p) => {
  const made = p.task('publish_features', hold, { ms: 1500, value: 'features' });
  p.task('boom', fail, { message: 'broken on purpose' }, { after: [made] });
});

const waitsForStep = pipeline({ id: 'consumer_step' }, (p) => {
  p.pipelineSensor('wait_for_features', { pipelineId: 'producer', stepId: 'publish_features', pokeInterval: '500ms', timeout: '2m' });
});

const waitsForFailure = pipeline({ id: 'consumer_failed' }, (p) => {
  p.pipelineSensor('wait_for_boom', { pipelineId: 'producer', stepId: 'boom', mode: 'poke', pokeInterval: '500ms', timeout: '10m' });
});

const waitsForYesterday = pipeline({ id: 'consumer_delta' }, (p) => {
  p.pipelineSensor('wait_for_yesterday', { pipelineId: 'producer', executionDelta: '1d', allowedStates: ['failed'], failedStates: ['cancelled'], pokeInterval: '500ms', timeout: '1m' });
});

describe('pipeline sensor', { timeout: 180_000 }, () => {
  const temporal = useWorkflowWorker([producer, waitsForStep, waitsForFailure, waitsForYesterday]);

  it("waits for another pipeline's step on the same logical date, then passes on that run", async () => {
    const consumer = await startRun(temporal.env, temporal.worker, waitsForStep, { logicalDate: '2026-04-01T00:00:00Z' });
    await eventually('the sensor to report the missing run', async () => {
      const note = step(await consumer.query(runStateQuery), 'wait_for_features').note ?? '';
      return /no run of producer step 'publish_features' for 2026-04-01T00:00:00.000Z yet/.test(note) ? note : undefined;
    }, 30_000);
    // A run of another date does not count.
    await runToEnd(temporal.env, temporal.worker, producer, { logicalDate: '2026-03-31T00:00:00Z' });
    assert.equal(step(await consumer.query(runStateQuery), 'wait_for_features').state, 'running');
    const upstream = await startRun(temporal.env, temporal.worker, producer, { logicalDate: '2026-04-01T00:00:00Z' });
    const result = (await consumer.result()) as RunState;
    const seen = step(result, 'wait_for_features').output as unknown as WatchedRun;
    assert.deepEqual(seen, {
      pipelineId: 'producer',
      runId: upstream.workflowId,
      logicalDate: '2026-04-01T00:00:00.000Z',
      stepId: 'publish_features',
      state: 'success',
    });
    await upstream.result().catch(() => undefined);
  });

  it('fails at once when the step reaches a failed state, long before its timeout', async () => {
    const began = Date.now();
    const consumer = await startRun(temporal.env, temporal.worker, waitsForFailure, { logicalDate: '2026-04-02T00:00:00Z' });
    const upstream = await startRun(temporal.env, temporal.worker, producer, { logicalDate: '2026-04-02T00:00:00Z' });
    await upstream.result().catch(() => undefined);
    await assert.rejects(consumer.result());
    const state = await consumer.query(runStateQuery);
    const s = step(state, 'wait_for_boom');
    assert.equal(s.state, 'failed');
    assert.match(s.error ?? '', new RegExp(`producer step 'boom' for 2026-04-02T00:00:00.000Z is failed \\(run ${upstream.workflowId}\\)`));
    assert.ok(Date.now() - began < 60_000, 'failed fast, not at the 10m timeout');
    assert.deepEqual((await sensorHistory(consumer)).scheduled, ['pokeSensor'], 'poke mode: one activity');
  });

  it('waits for the whole run of the day before (executionDelta), with custom allowed states', async () => {
    const yesterday = await runToEnd(temporal.env, temporal.worker, producer, { logicalDate: '2026-05-09T00:00:00Z' });
    assert.equal(yesterday.state.status, 'failed');
    const { state } = await runToEnd(temporal.env, temporal.worker, waitsForYesterday, { logicalDate: '2026-05-10T00:00:00Z' });
    const seen = step(state, 'wait_for_yesterday').output as unknown as WatchedRun;
    assert.equal(state.status, 'success');
    assert.equal(seen.runId, yesterday.state.run.runId);
    assert.equal(seen.state, 'failed');
  });
});
