/**
 * The MLflow REST client against a real MLflow server: every method round-trips,
 * errors name the call and MLflow's error code, creating what exists is an
 * answer, and throttling or server errors are retried with backoff.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MlflowClient, MlflowError } from '../../activities';
import { tagClause, tagOf } from '../../activities/mlflow';
import { type TestMlflow, startTestMlflow } from '../../harness';

/** A proxy that answers the first `failures` requests with `status` itself, then forwards the rest. */
function flakyProxy(target: string, failures: number, status: number): Promise<{ url: string; seen: () => number; close: () => void }> {
  let seen = 0;
  const upstream = new URL(target);
  const server = http.createServer((req, res) => {
    seen++;
    if (seen <= failures) {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error_code: status === 429 ? 'REQUEST_LIMIT_EXCEEDED' : 'INTERNAL_ERROR', message: 'injected' }));
      return;
    }
    const forward = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen: () => seen, close: () => server.close() })),
  );
}

describe('the MLflow client on a real MLflow server', { timeout: 120_000 }, () => {
  let server: TestMlflow;
  let mlflow: MlflowClient;
  before(async () => {
    server = await startTestMlflow();
    mlflow = new MlflowClient({ trackingUri: server.url });
  });
  after(async () => {
    await server?.stop();
  });

  it('gets or creates an experiment, once however often it is asked', async () => {
    assert.equal(await mlflow.getExperimentByName('client-experiment'), undefined);
    const [a, b] = await Promise.all([mlflow.getOrCreateExperiment('client-experiment', { team: 'ml' }), mlflow.getOrCreateExperiment('client-experiment')]);
    assert.equal(a, b);
    const experiment = await mlflow.getExperiment(a);
    assert.equal(experiment.name, 'client-experiment');
    assert.equal(tagOf(experiment, 'team'), 'ml');
    assert.equal(await mlflow.getOrCreateExperiment('client-experiment'), a);
  });

  it('creates, logs to, tags, updates, gets and searches runs', async () => {
    const experimentId = await mlflow.getOrCreateExperiment('client-runs');
    const run = await mlflow.createRun({ experimentId, runName: 'first', startTime: 1_700_000_000_000, tags: { 'trainyard.try': "r1 train[0]#1 it's" } });
    assert.equal(run.info.status, 'RUNNING');
    assert.equal(run.info.run_name, 'first');
    const other = await mlflow.createRun({ experimentId, runName: 'second', tags: { 'trainyard.try': 'r1 train[1]#1' } });
    // More metrics than one request may carry: the client splits the batch.
    const metrics = Array.from({ length: 1500 }, (_, i) => ({ key: 'loss', value: 1 / (i + 1), step: i, timestamp: 1_700_000_000_000 + i }));
    await mlflow.logBatch(run.info.run_id, { metrics, params: { lr: '0.01', optimizer: 'adam' }, tags: { stage: 'test' } });
    await mlflow.setRunTag(run.info.run_id, 'note', 'tagged');
    const updated = await mlflow.updateRun(run.info.run_id, { status: 'KILLED', endTime: 1_700_000_005_000 });
    assert.equal(updated.status, 'KILLED');

    const got = await mlflow.getRun(run.info.run_id);
    assert.equal(got.info.status, 'KILLED');
    assert.equal(got.info.end_time, 1_700_000_005_000);
    assert.deepEqual(got.data.params?.map((p) => [p.key, p.value]).sort(), [['lr', '0.01'], ['optimizer', 'adam']]);
    assert.equal(tagOf(got, 'stage'), 'test');
    assert.equal(tagOf(got, 'note'), 'tagged');
    // runs/get gives the latest value of each metric: the 1,500th point arrived.
    assert.equal(got.data.metrics?.find((m) => m.key === 'loss')?.step, 1499);

    // A tag value with a quote in it, searched by a dotted key.
    const found = await mlflow.searchRuns({ experimentIds: [experimentId], filter: tagClause('trainyard.try', "r1 train[0]#1 it's") });
    assert.deepEqual(found.map((r) => r.info.run_id), [run.info.run_id]);
    const all = await mlflow.searchRuns({ experimentIds: [experimentId] });
    assert.deepEqual(all.map((r) => r.info.run_id).sort(), [run.info.run_id, other.info.run_id].sort());
  });

  it('registers models and versions, tags them and moves aliases', async () => {
    const experimentId = await mlflow.getOrCreateExperiment('client-registry');
    const run = await mlflow.createRun({ experimentId });
    const model = await mlflow.createRegisteredModel('client-model', { description: 'digits', tags: { owner: 'ml' } });
    assert.equal(model.name, 'client-model');
    // Created already: the same model comes back, no error.
    assert.equal((await mlflow.createRegisteredModel('client-model')).name, 'client-model');
    assert.equal(await mlflow.getRegisteredModel('no-such-model'), undefined);

    const source = `${run.info.artifact_uri}/model`;
    const v1 = await mlflow.createModelVersion({ name: 'client-model', source, runId: run.info.run_id, tags: { 'trainyard.registered_by': 'run-1 register' } });
    const v2 = await mlflow.createModelVersion({ name: 'client-model', source, runId: run.info.run_id });
    assert.deepEqual([v1.version, v2.version], ['1', '2']);
    assert.equal((await mlflow.getModelVersion('client-model', '1'))?.run_id, run.info.run_id);
    assert.equal(await mlflow.getModelVersion('client-model', '9'), undefined);
    await mlflow.setModelVersionTag('client-model', '2', 'reviewed', 'yes');
    assert.equal(tagOf((await mlflow.getModelVersion('client-model', '2')) ?? {}, 'reviewed'), 'yes');
    const tagged = await mlflow.searchModelVersions(`name = 'client-model' and ${tagClause('trainyard.registered_by', 'run-1 register')}`);
    assert.deepEqual(tagged.map((v) => v.version), ['1']);
    assert.equal((await mlflow.searchModelVersions("name = 'client-model'")).length, 2);

    assert.equal(await mlflow.getModelVersionByAlias('client-model', 'champion'), undefined);
    await mlflow.setAlias('client-model', 'champion', '1');
    assert.equal((await mlflow.getModelVersionByAlias('client-model', 'champion'))?.version, '1');
    await mlflow.setAlias('client-model', 'champion', '2');
    assert.equal((await mlflow.getModelVersionByAlias('client-model', 'champion'))?.version, '2');
    assert.deepEqual((await mlflow.getRegisteredModel('client-model'))?.aliases, [{ alias: 'champion', version: '2' }]);
    await mlflow.deleteAlias('client-model', 'champion');
    assert.equal(await mlflow.getModelVersionByAlias('client-model', 'champion'), undefined);
  });

  it("names the call and MLflow's error code when MLflow refuses", async () => {
    await assert.rejects(mlflow.getRun('no-such-run'), (err: unknown) => {
      assert.ok(err instanceof MlflowError);
      assert.equal(err.errorCode, 'RESOURCE_DOES_NOT_EXIST');
      assert.equal(err.status, 404);
      assert.match(err.message, /^MLflow GET runs\/get failed: RESOURCE_DOES_NOT_EXIST \(HTTP 404\): Run with id=no-such-run not found/);
      return true;
    });
    const experimentId = await mlflow.getOrCreateExperiment('client-errors');
    await assert.rejects(mlflow.searchRuns({ experimentIds: [experimentId], filter: 'tags.bad syntax' }), /POST runs\/search failed: INVALID_PARAMETER_VALUE/);
  });

  it('retries 503 and 429 with backoff, and gives up on a 4xx at once', async () => {
    for (const status of [503, 429]) {
      const proxy = await flakyProxy(server.url, 3, status);
      try {
        const client = new MlflowClient({ trackingUri: proxy.url, initialBackoffMs: 20 });
        assert.ok(await client.getOrCreateExperiment(`client-retried-${status}`));
        // Three answers refused, then get-by-name (missing) and create went through.
        assert.equal(proxy.seen(), 5);
      } finally {
        proxy.close();
      }
    }
    const refusing = await flakyProxy(server.url, 100, 400);
    try {
      await assert.rejects(new MlflowClient({ trackingUri: refusing.url, initialBackoffMs: 20 }).getRun('x'), /HTTP 400/);
      assert.equal(refusing.seen(), 1);
    } finally {
      refusing.close();
    }
  });

  it('says which server it cannot reach, after retrying until its deadline', async () => {
    const closed = await flakyProxy(server.url, 0, 0);
    closed.close();
    const client = new MlflowClient({ trackingUri: closed.url, retryForMs: 500, initialBackoffMs: 50 });
    const started = Date.now();
    await assert.rejects(client.getRun('x'), (err: unknown) => err instanceof MlflowError && err.errorCode === 'UNAVAILABLE' && err.message.includes(closed.url));
    assert.ok(Date.now() - started >= 300, 'it gave up without retrying');
  });

  it('refuses a tracking URI that is not an http server', () => {
    assert.throws(() => new MlflowClient({ trackingUri: 'file:///tmp/mlruns' }), /must be http:\/\/ or https:\/\//);
    assert.throws(() => new MlflowClient({ trackingUri: 'not a url' }), /is not a URL/);
  });
});
