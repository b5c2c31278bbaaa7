import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { graphOf, pipeline } from '../../pipeline';
import { echo, noop } from '../support/tasks';

describe('graphOf', () => {
  it('gives nodes, edges, nested groups and what a mapped step maps over', () => {
    const p = pipeline({ id: 'graph_view' }, (b) => {
      const grid = b.task('grid', echo, { n: 1 });
      const prepared = b.group('prep', (g) => {
        const a = g.task('a', noop, null, { after: [grid] });
        return g.group('inner', (h) => h.task('b', noop, null, { after: [a] }));
      });
      b.task('trial', noop, null, { after: [prepared], map: { expand: { lr: [0.1, 0.2], opt: grid.output }, mode: 'product', maxActive: 2 } });
      b.task('report', noop, null, { after: [prepared], triggerRule: 'all_done' });
    });
    const graph = graphOf(p.spec);
    assert.deepEqual(graph.nodes.map((n) => [n.id, n.group]), [['grid', null], ['prep.a', 'prep'], ['prep.inner.b', 'prep.inner'], ['trial', null], ['report', null]]);
    assert.deepEqual(graph.groups, [{ id: 'prep', parent: null, steps: ['prep.a'] }, { id: 'prep.inner', parent: 'prep', steps: ['prep.inner.b'] }]);
    assert.deepEqual(graph.edges.filter((e) => e.to === 'trial').map((e) => e.from).sort(), ['grid', 'prep.inner.b']);
    assert.deepEqual(graph.nodes.find((n) => n.id === 'trial')?.map, { mode: 'product', keys: ['lr', 'opt'], fromUpstream: ['grid'], maxActive: 2, maxMapLength: null });
    assert.equal(graph.nodes.find((n) => n.id === 'report')?.triggerRule, 'all_done');
    assert.equal(graph.nodes.find((n) => n.id === 'grid')?.map, null);
  });
});
