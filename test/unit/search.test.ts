import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Distribution,
  type Json,
  type TaskContext,
  gridSearch,
  gridSearchTask,
  randomSearch,
  randomSearchTask,
  selectBest,
  selectBestTask,
} from '../../pipeline';

const ctx = {} as TaskContext;

describe('gridSearch', () => {
  it('crosses the lists in itertools.product order', () => {
    const grid = gridSearch({ lr: [0.1, 0.01, 0.001], batch: [16, 32, 64, 128], opt: ['sgd', 'adam'] });
    assert.equal(grid.length, 24);
    assert.deepEqual(grid[0], { lr: 0.1, batch: 16, opt: 'sgd' });
    assert.deepEqual(grid[1], { lr: 0.1, batch: 16, opt: 'adam' });
    assert.deepEqual(grid[13], { lr: 0.01, batch: 64, opt: 'adam' });
    assert.deepEqual(grid[23], { lr: 0.001, batch: 128, opt: 'adam' });
    assert.equal(new Set(grid.map((g) => JSON.stringify(g))).size, 24);
  });

  it('gives one empty point for an empty space and none when a list is empty', () => {
    assert.deepEqual(gridSearch({}), [{}]);
    assert.deepEqual(gridSearch({ a: [1, 2], b: [] }), []);
  });

  it('rejects a value that is not a list, naming the key', () => {
    assert.throws(() => gridSearch({ lr: 0.1 } as unknown as Record<string, Json[]>), /space\.lr must be a list/);
  });
});

describe('randomSearch', () => {
  const space: Record<string, Distribution> = {
    lr: { loguniform: [1e-5, 1e-1] },
    dropout: { uniform: [0.1, 0.5] },
    layers: { randint: [2, 6] },
    opt: ['sgd', 'adam', 'adamw'],
  };

  it('gives the same points for the same seed', () => {
    assert.deepEqual(randomSearch(space, 50, 42), randomSearch(space, 50, 42));
  });

  it('gives different points for different seeds, including seeds that differ above 2^32', () => {
    assert.notDeepEqual(randomSearch(space, 5, 42), randomSearch(space, 5, 43));
    assert.notDeepEqual(randomSearch(space, 5, 7), randomSearch(space, 5, 7 + 2 ** 32));
  });

  it('is not changed by the order the keys are written in', () => {
    const reordered: Record<string, Distribution> = { opt: space.opt as Distribution, layers: space.layers as Distribution, dropout: space.dropout as Distribution, lr: space.lr as Distribution };
    const a = randomSearch(space, 20, 9);
    const b = randomSearch(reordered, 20, 9);
    assert.deepEqual(a, b);
    assert.deepEqual(Object.keys(b[0] ?? {}), ['opt', 'layers', 'dropout', 'lr'], "each point keeps the space's key order");
  });

  it('is pinned: these exact values on every machine', () => {
    // If this changes, every saved seed in every pipeline now means different trials.
    const points = randomSearch({ x: { uniform: [0, 1] }, k: { randint: [0, 1_000_000] } }, 2, 1);
    assert.deepEqual(points, PINNED);
  });

  it('draws within range, and covers it', () => {
    const points = randomSearch(space, 2_000, 123);
    assert.equal(points.length, 2_000);
    const layers = new Set<number>();
    const opts = new Set<Json>();
    let lowLr = 0;
    for (const p of points) {
      const lr = p.lr as number;
      const dropout = p.dropout as number;
      assert.ok(lr >= 1e-5 && lr <= 1e-1, `lr ${lr}`);
      assert.ok(dropout >= 0.1 && dropout < 0.5, `dropout ${dropout}`);
      assert.ok(Number.isInteger(p.layers), `layers ${JSON.stringify(p.layers)}`);
      layers.add(p.layers as number);
      opts.add(p.opt as Json);
      if (lr < 1e-3) lowLr++;
    }
    assert.deepEqual([...layers].sort(), [2, 3, 4, 5, 6], 'randint includes both ends');
    assert.equal(opts.size, 3);
    // Log-uniform: half the draws fall in the lower half of the exponents (1e-5..1e-3).
    assert.ok(lowLr > 850 && lowLr < 1150, `lowLr ${lowLr}`);
  });

  it('gives nothing for count 0, and allows lo = hi', () => {
    assert.deepEqual(randomSearch(space, 0, 1), []);
    assert.deepEqual(randomSearch({ a: { uniform: [2, 2] }, b: { randint: [5, 5] } }, 2, 1), [
      { a: 2, b: 5 },
      { a: 2, b: 5 },
    ]);
  });

  const bad: [string, unknown, RegExp][] = [
    ['an empty choice list', [], /space\.x is an empty list/],
    ['an unknown distribution', { normal: [0, 1] }, /space\.x must be a non-empty list of choices, \{ uniform: \[lo, hi\] \}/],
    ['a scalar', 3, /space\.x must be .* \(got 3\)/],
    ['two distributions in one', { uniform: [0, 1], randint: [0, 1] }, /space\.x must be/],
    ['bounds in the wrong order', { uniform: [1, 0] }, /space\.x\.uniform must be \[lo, hi\] .* lo <= hi/],
    ['one bound', { uniform: [1] }, /space\.x\.uniform must be \[lo, hi\]/],
    ['loguniform from 0', { loguniform: [0, 1] }, /space\.x\.loguniform needs lo > 0 \(got 0\); use uniform/],
    ['randint with fractions', { randint: [0.5, 3] }, /space\.x\.randint needs whole-number bounds/],
  ];
  for (const [name, dist, pattern] of bad) {
    it(`rejects ${name}`, () => {
      assert.throws(() => randomSearch({ x: dist as Distribution }, 1, 1), pattern);
    });
  }

  it('rejects a bad count or seed', () => {
    assert.throws(() => randomSearch(space, -1, 1), /count must be a whole number/);
    assert.throws(() => randomSearch(space, 1.5, 1), /count must be a whole number/);
    assert.throws(() => randomSearch(space, 1, Number.NaN), /seed must be a whole number/);
  });
});

const PINNED: Record<string, Json>[] = [
  { x: 0.5274470447082144, k: 627074 },
  { x: 0.6128388622458513, k: 968378 },
];

describe('selectBest', () => {
  const results: Json[] = [
    { metrics: { accuracy: 0.8 }, loss: 0.5, name: 'a' },
    null,
    { metrics: { accuracy: 0.93 }, loss: 0.2, name: 'b' },
    { metrics: { accuracy: 'n/a' }, loss: 0.1, name: 'c' },
    { metrics: { accuracy: 0.93 }, loss: 0.3, name: 'd' },
    { metrics: {}, loss: 0.4, name: 'e' },
    [0.99],
    { metrics: { accuracy: Number.NaN }, name: 'f' },
  ];

  it('picks the highest value at a dotted key, first on a tie', () => {
    const { best, index, value } = selectBest(results, 'metrics.accuracy', 'max');
    assert.equal(index, 2);
    assert.equal(value, 0.93);
    assert.equal((best as { name: string }).name, 'b');
  });

  it('picks the lowest in min mode', () => {
    const chosen = selectBest(results, 'loss', 'min');
    assert.equal(chosen.index, 3);
    assert.equal(chosen.value, 0.1);
  });

  it('reads a key that itself contains a dot', () => {
    assert.equal(selectBest([{ 'val.acc': 1 }, { 'val.acc': 2 }], 'val.acc', 'max').index, 1);
  });

  it('throws naming the key and how many results it saw when none is usable', () => {
    assert.throws(() => selectBest(results, 'metrics.f1', 'max'), /none of the 8 results has a finite number at 'metrics\.f1'/);
    assert.throws(() => selectBest([], 'accuracy', 'max'), /none of the 0 results/);
  });

  it('rejects a bad mode or results that are not a list', () => {
    assert.throws(() => selectBest(results, 'loss', 'best' as 'max'), /mode must be 'max' or 'min'/);
    assert.throws(() => selectBest({} as Json[], 'loss', 'max'), /results must be a list/);
  });
});

describe('search tasks', () => {
  it('are named for the worker registry', () => {
    assert.equal(gridSearchTask.name, 'trainyard.grid_search');
    assert.equal(randomSearchTask.name, 'trainyard.random_search');
    assert.equal(selectBestTask.name, 'trainyard.select_best');
  });

  it('run the generators', async () => {
    assert.equal((await gridSearchTask.run({ space: { a: [1, 2], b: [3, 4, 5] } }, ctx)).length, 6);
    const args = { space: { a: { uniform: [0, 1] } as Distribution }, count: 3, seed: 5 };
    assert.deepEqual(await randomSearchTask.run(args, ctx), randomSearch(args.space, 3, 5));
  });

  it('select_best returns the best item with best_index and best_value', async () => {
    const out = await selectBestTask.run({ results: [{ acc: 0.5 }, { acc: 0.9, lr: 0.1 }], key: 'acc', mode: 'max' }, ctx);
    assert.deepEqual(out, { acc: 0.9, lr: 0.1, best_index: 1, best_value: 0.9 });
  });
});
