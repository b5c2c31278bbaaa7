import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PipelineValidationError, defineTask, mapValue, pipeline } from '../../pipeline';
import { mapStateQuery, trialStateQuery } from '../../contract';
import { aborted, concurrency, echo, hold, noop, train } from '../support/tasks';
import { eventually, runToEnd, step } from '../support/temporal';
import { useWorkflowWorker } from '../support/workflow-worker';

const emit = defineTask('test.emit', (args: { value: unknown }) => args.value as never);

const product = pipeline({ id: 'map_product' }, (p) => {
  const mapped = p.task('cell', echo, { a: mapValue('a'), b: mapValue('b'), i: '{{ map_index }}', text: 'lr={{ map.a }}' }, { map: { expand: { a: [1, 2, 3], b: ['x', 'y'] } } });
  p.task('collect', echo, { cells: mapped.output });
});

const zipped = pipeline({ id: 'map_zip' }, (p) => {
  const mapped = p.task('pair', echo, { a: mapValue('a'), b: mapValue('b') }, { map: { expand: { a: [1, 2, 3], b: [10, 20, 30] }, mode: 'zip' } });
  p.task('collect', echo, { pairs: mapped.output });
});

const fromUpstream = pipeline({ id: 'map_upstream', params: { kind: 'list' } }, (p) => {
  const list = p.task('make_list', emit, { value: [{ lr: 0.1, opt: 'adam' }, { lr: 0.01, opt: 'sgd' }] });
  const dict = p.task('make_dict', emit, { value: { small: 1, large: 100 } });
  const zipA = p.task('zip_a', emit, { value: [1, 2, 3] });
  const zipB = p.task('zip_b', emit, { value: [1, 2] });
  const text = p.task('make_text', emit, { value: 'not a list' });
  p.task('over_list', echo, { lr: mapValue('lr'), opt: mapValue('opt') }, { map: { expand: list.output } });
  p.task('over_dict', echo, { key: mapValue('key'), value: mapValue('value') }, { map: { expand: dict.output } });
  p.task('over_zip', echo, { a: '{{ map.a }}' }, { map: { expand: { a: zipA.output, b: zipB.output }, mode: 'zip' } });
  p.task('over_text', echo, { x: '{{ map.item }}' }, { map: { expand: text.output } });
  p.task('over_nothing', echo, { x: '{{ map.item }}' }, { map: { expand: [] } });
});

const tooLong = pipeline({ id: 'map_too_long' }, (p) => {
  const grid = p.task('grid', emit, { value: Array.from({ length: 30 }, (_, i) => i) });
  p.task('wide', noop, null, { map: { expand: { a: grid.output, b: grid.output }, maxMapLength: 500 } });
});

const capped = pipeline({ id: 'map_capped' }, (p) => {
  p.task('held', hold, { ms: 150, gather: 3 }, { map: { expand: Array.from({ length: 12 }, (_, i) => i), maxActive: 3 } });
});

const partial = pipeline({ id: 'map_partial' }, (p) => {
  const lenient = p.task('lenient', hold, { ms: 1, failOn: [2, 7] }, { map: { expand: Array.from({ length: 10 }, (_, i) => i), minSuccessRatio: 0.8 } });
  const strict = p.task('strict', hold, { ms: 1, failOn: [4] }, { map: { expand: [0, 1, 2, 3, 4, 5] } });
  p.task('after_lenient', echo, { got: lenient.output });
  p.task('after_strict', noop, null, { after: [strict] });
  p.task('cleanup', noop, null, { after: [strict], triggerRule: 'all_done' });
});

const qualities = [0.95, 0.9, 0.92, 0.2, 0.93, 0.1, 0.91, 0.15];
const stopped = pipeline({ id: 'map_early_stop' }, (p) => {
  // 24 steps of 150 ms: long enough that the weakest trials are judged while they run, even on a loaded machine.
  const trials = p.task('trial', train, { quality: mapValue<number>('q'), steps: 24, everyMs: 150 }, {
    map: { expand: { q: qualities }, maxActive: 8, earlyStopping: { metric: 'score', mode: 'max', minSteps: 3, minTrials: 3 } },
  });
  p.task('collect', echo, { results: trials.output });
});

describe('mapped steps (partial + expand) as child workflows', () => {
  const temporal = useWorkflowWorker([product, zipped, fromUpstream, tooLong, capped, partial, stopped]);

  it('crosses keyed lists in order and hands the ordered outputs downstream', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, product);
    assert.equal(error, undefined);
    const cells = (step(state, 'collect').output as { cells: { a: number; b: string; i: string }[] }).cells;
    assert.deepEqual(cells.map((c) => `${c.a}${c.b}`), ['1x', '1y', '2x', '2y', '3x', '3y']);
    assert.deepEqual(cells.map((c) => c.i), ['0', '1', '2', '3', '4', '5']);
    assert.equal(step(state, 'cell').map?.total, 6);
    assert.equal(step(state, 'cell').map?.succeeded, 6);

    // Every index is its own workflow, with a predictable id, its values and its rendered config.
    const trial = temporal.env.client.workflow.getHandle(`${state.run.runId}/cell/3`);
    const view = await trial.query(trialStateQuery);
    assert.deepEqual(view.values, { a: 2, b: 'y' });
    assert.deepEqual((view.config as { args: unknown }).args, { a: 2, b: 'y', i: '3', text: 'lr=2' });
    assert.equal(view.state, 'success');
    const coordinator = await temporal.env.client.workflow.getHandle(`${state.run.runId}/cell`).query(mapStateQuery);
    assert.equal(coordinator.states, 'ssssss');

    // ...and searchable by the run it belongs to.
    const found = await eventually('trials to be indexed', async () => {
      const ids: string[] = [];
      for await (const w of temporal.env.client.workflow.list({ query: `TrainyardParentRunId = '${state.run.runId}' AND TrainyardStepId = 'cell' AND TrainyardMapIndex >= 0` })) ids.push(w.workflowId);
      return ids.length === 6 ? ids : undefined;
    });
    assert.equal(found.length, 6);
  });

  it('pairs lists in zip mode', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, zipped);
    assert.equal(error, undefined);
    assert.deepEqual((step(state, 'collect').output as { pairs: unknown[] }).pairs, [{ a: 1, b: 10 }, { a: 2, b: 20 }, { a: 3, b: 30 }]);
  });

  it('maps over upstream lists and dicts, and names the upstream step when its XCom cannot be mapped', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, fromUpstream);
    assert.deepEqual(step(state, 'over_list').output, [{ lr: 0.1, opt: 'adam' }, { lr: 0.01, opt: 'sgd' }]);
    assert.deepEqual(step(state, 'over_dict').output, [{ key: 'small', value: 1 }, { key: 'large', value: 100 }]);
    assert.equal(step(state, 'over_zip').state, 'failed');
    assert.match(step(state, 'over_zip').error ?? '', /zip/);
    assert.match(step(state, 'over_zip').error ?? '', /3/);
    assert.match(step(state, 'over_zip').error ?? '', /2/);
    assert.equal(step(state, 'over_text').state, 'failed');
    assert.match(step(state, 'over_text').error ?? '', /make_text/);
    assert.match(step(state, 'over_text').error ?? '', /string/);
    assert.equal(step(state, 'over_nothing').state, 'skipped');
    // A map that cannot resolve starts nothing: no coordinator exists for it.
    await assert.rejects(temporal.env.client.workflow.getHandle(`${state.run.runId}/over_text`).describe());
  });

  it('refuses a map longer than maxMapLength before starting anything', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, tooLong);
    assert.equal(step(state, 'wide').state, 'failed');
    assert.match(step(state, 'wide').error ?? '', /900/);
    assert.match(step(state, 'wide').error ?? '', /maxMapLength/);
    await assert.rejects(temporal.env.client.workflow.getHandle(`${state.run.runId}/wide`).describe());
  });

  it('rejects zip lists of different lengths when the pipeline is defined', () => {
    assert.throws(
      () => pipeline({ id: 'bad_zip' }, (p) => p.task('x', noop, null, { map: { expand: { a: [1, 2], b: [1] }, mode: 'zip' } })),
      (err: unknown) => err instanceof PipelineValidationError && /zip/.test(err.message),
    );
  });

  it('never runs more than maxActive indices at once', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, capped);
    assert.equal(error, undefined);
    const seen = concurrency.get(`${state.run.runId}/held`);
    assert.equal(seen?.max, 3, `observed concurrency ${seen?.max}`);
    assert.equal(step(state, 'held').map?.peakActive, 3);
    assert.equal((step(state, 'held').output as unknown[]).length, 12);
  });

  it('succeeds with enough successful indices, lists the failures, and treats the mapped step as one for trigger rules', async () => {
    const { state } = await runToEnd(temporal.env, temporal.worker, partial);
    const lenient = step(state, 'lenient');
    assert.equal(lenient.state, 'success');
    assert.deepEqual(lenient.map?.failures?.map((f) => f.index), [2, 7]);
    assert.match(lenient.map?.failures?.[0]?.error ?? '', /index 2 fails on purpose/);
    assert.deepEqual(((step(state, 'after_lenient').output as { got: { index: number }[] }).got).map((r) => r.index), [0, 1, 3, 4, 5, 6, 8, 9]);
    const strict = step(state, 'strict');
    assert.equal(strict.state, 'failed');
    assert.match(strict.error ?? '', /5 of 6 indices succeeded/);
    assert.equal(step(state, 'after_strict').state, 'upstream_failed');
    assert.equal(step(state, 'cleanup').state, 'success');
  });

  it('prunes trials below the median while they run, and they count neither as success nor failure', async () => {
    const { state, error } = await runToEnd(temporal.env, temporal.worker, stopped);
    assert.equal(error, undefined);
    const trial = step(state, 'trial');
    const prunedIdx = (trial.map?.prunedIndices ?? []).map((p) => p.index).sort((a, b) => a - b);
    assert.deepEqual(prunedIdx, [3, 5, 7], JSON.stringify(trial.map));
    assert.match(trial.map?.prunedIndices?.[0]?.reason ?? '', /median/);
    assert.equal(trial.map?.failed, 0);
    assert.equal(trial.map?.succeeded, 5);
    // The pruned trials were stopped mid-run (their task saw the abort), not left to finish.
    assert.deepEqual([...(aborted.get(state.run.runId) ?? [])].sort((a, b) => a - b), [3, 5, 7]);
    const results = (step(state, 'collect').output as { results: { quality: number }[] }).results;
    assert.deepEqual(results.map((r) => r.quality), [0.95, 0.9, 0.92, 0.93, 0.91]);
    const view = await temporal.env.client.workflow.getHandle(`${state.run.runId}/trial/3`).describe();
    assert.equal(view.status.name, 'CANCELLED');
  });
});
