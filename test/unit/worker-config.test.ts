import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
