import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveRunner } from '../../pipeline';
import { loadConfig } from '../../worker/config';

describe('worker config: TRAINYARD_MAX_CACHED_WORKFLOWS', () => {
  it("leaves the SDK's default when unset", () => {
    assert.equal(loadConfig({}).maxCachedWorkflows, undefined);
  });

  it('takes a whole number of runs, 0 included (no cache)', () => {
    assert.equal(loadConfig({ TRAINYARD_MAX_CACHED_WORKFLOWS: '5500' }).maxCachedWorkflows, 5500);
    assert.equal(loadConfig({ TRAINYARD_MAX_CACHED_WORKFLOWS: '0' }).maxCachedWorkflows, 0);
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['lots', '-1', '2.5']) {
      assert.throws(() => loadConfig({ TRAINYARD_MAX_CACHED_WORKFLOWS: bad }), /TRAINYARD_MAX_CACHED_WORKFLOWS='.*' must be a whole number/);
    }
  });
});

describe('worker config: TRAINYARD_DEFAULT_RUNNER', () => {
  it('is absent when unset, so runs fall back to local', () => {
    assert.equal(loadConfig({}).defaultRunner, undefined);
  });

  it('takes local or kubernetes', () => {
    assert.equal(loadConfig({ TRAINYARD_DEFAULT_RUNNER: 'kubernetes' }).defaultRunner, 'kubernetes');
    assert.equal(loadConfig({ TRAINYARD_DEFAULT_RUNNER: 'local' }).defaultRunner, 'local');
  });

  it('refuses anything else, naming the variable and the choices', () => {
    assert.throws(() => loadConfig({ TRAINYARD_DEFAULT_RUNNER: 'k8s' }), /TRAINYARD_DEFAULT_RUNNER='k8s' must be one of local, kubernetes/);
  });
});

describe('resolveRunner', () => {
  it('takes the request, else the pipeline, else the deployment, else local', () => {
    assert.equal(resolveRunner({ request: 'local', pipeline: 'kubernetes', deployment: 'kubernetes' }), 'local');
    assert.equal(resolveRunner({ pipeline: 'kubernetes', deployment: 'local' }), 'kubernetes');
    assert.equal(resolveRunner({ deployment: 'kubernetes' }), 'kubernetes');
    assert.equal(resolveRunner({}), 'local');
  });
});
