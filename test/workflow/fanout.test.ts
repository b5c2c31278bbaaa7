import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fanoutPipeline, runFanout } from '../../harness';
import { useWorkflowWorker } from '../support/workflow-worker';

/** Temporal's per-workflow limits this design must stay under. */
const MAX_EVENTS = 10_240;
const MAX_PENDING_CHILDREN = 2000;

const small = fanoutPipeline(1024);
const large = fanoutPipeline(10_240);

describe('wide fan-out keeps every history small', () => {
  const temporal = useWorkflowWorker([small, large]);

  for (const [n, pipe] of [[1024, small], [10_240, large]] as const) {
    it(`maps ${n} indices, one child workflow each, with no history over ${MAX_EVENTS} events`, async () => {
      const f = await runFanout(temporal.env, temporal.worker, pipe);
      const summary = JSON.stringify({ ...f, state: undefined });
      assert.equal(f.state.status, 'success');
      assert.equal(f.trials, n, summary);
      assert.equal((f.state.steps[0]?.output as unknown[]).length, n);
      // The run itself pays for one child, however wide the map.
      assert.ok(f.runEvents < 40, summary);
      assert.ok(f.maxEvents <= MAX_EVENTS, summary);
      assert.ok(f.peakActive <= MAX_PENDING_CHILDREN, summary);
      // 10,240 trials of about 4 events each cannot fit one coordinator history: it continued as new.
      if (n > 2000) assert.ok(f.coordinatorEvents.length > 1, summary);
    });
  }
});
