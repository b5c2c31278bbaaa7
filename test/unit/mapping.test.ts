import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Json, MapError, type MapSpec, type ResolvedMap, checkMapLength, mapDefaults, mapProblems, mapValues, resolveMap } from '../../pipeline';

const STEP = 'model_training.train_model';

/** Asserts that `fn` throws a MapError whose message matches every pattern. */
function assertMapError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof MapError, `expected a MapError, got ${String(err)}`);
    assert.equal(err.name, 'MapError');
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

/** Every index's values, for small maps. */
function all(resolved: ResolvedMap): Record<string, Json>[] {
  return Array.from({ length: resolved.length }, (_, i) => mapValues(resolved, i));
}

describe('resolveMap: keyed product', () => {
  const map: MapSpec = { expand: { lr: [0.1, 0.01, 0.001], batch: [16, 32, 64, 128], opt: ['sgd', 'adam'] } };

  it('has the product of the lengths as its length (3 × 4 × 2 = 24)', () => {
    const resolved = resolveMap(STEP, map, {});
    assert.equal(resolved.length, 24);
    assert.equal(resolved.mode, 'product');
    assert.deepEqual(resolved.keys, ['lr', 'batch', 'opt']);
  });

  it('follows itertools.product order: first key slowest, last key fastest', () => {
    const resolved = resolveMap(STEP, map, {});
    assert.deepEqual(mapValues(resolved, 0), { lr: 0.1, batch: 16, opt: 'sgd' });
    assert.deepEqual(mapValues(resolved, 1), { lr: 0.1, batch: 16, opt: 'adam' });
    assert.deepEqual(mapValues(resolved, 2), { lr: 0.1, batch: 32, opt: 'sgd' });
    // 13 = 1·8 + 2·2 + 1
    assert.deepEqual(mapValues(resolved, 13), { lr: 0.01, batch: 64, opt: 'adam' });
    assert.deepEqual(mapValues(resolved, 23), { lr: 0.001, batch: 128, opt: 'adam' });
  });

  it('gives every combination exactly once, keys in the written order', () => {
    const values = all(resolveMap(STEP, map, {}));
    assert.equal(new Set(values.map((v) => JSON.stringify(v))).size, 24);
    assert.deepEqual(Object.keys(values[5] ?? {}), ['lr', 'batch', 'opt']);
  });

  it('is empty (the step is skipped) when any list is empty', () => {
    const resolved = resolveMap(STEP, { expand: { a: [1, 2], b: [] } }, {});
    assert.equal(resolved.length, 0);
    assert.throws(() => mapValues(resolved, 0), RangeError);
  });

  it('resolves a 10 × 32 × 32 = 10,240 grid without building it', () => {
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    const resolved = resolveMap(STEP, { expand: { a: range(10), b: range(32), c: range(32) } }, {});
    assert.equal(resolved.length, 10_240);
    assert.deepEqual(mapValues(resolved, 10_239), { a: 9, b: 31, c: 31 });
    assert.deepEqual(mapValues(resolved, 1_024 * 3 + 32 * 5 + 7), { a: 3, b: 5, c: 7 });
    assert.equal(resolved.lists.reduce((n, l) => n + l.length, 0), 74, 'only the source lists are held');
  });

  it('computes an astronomically large length arithmetically', () => {
    const big = Array.from({ length: 1000 }, (_, i) => i);
    const resolved = resolveMap(STEP, { expand: { a: big, b: big, c: big, d: big } }, {});
    assert.equal(resolved.length, 1e12);
    assert.deepEqual(mapValues(resolved, 1e12 - 1), { a: 999, b: 999, c: 999, d: 999 });
  });

  it('mixes literal lists and XCom sources', () => {
    const resolved = resolveMap(STEP, { expand: { lr: { $xcom: 'gen', key: 'lrs' }, seed: [1, 2] } }, { gen: { lrs: [0.1, 0.2, 0.3] } });
    assert.equal(resolved.length, 6);
    assert.deepEqual(mapValues(resolved, 3), { lr: 0.2, seed: 2 });
  });

  it('keeps a key named __proto__ as a plain key', () => {
    const expand = JSON.parse('{"__proto__": [1, 2], "b": [3]}') as Record<string, Json[]>;
    const values = mapValues(resolveMap(STEP, { expand }, {}), 1);
    assert.deepEqual(Object.keys(values), ['__proto__', 'b']);
    assert.equal(Object.getPrototypeOf(values), Object.prototype);
  });
});

describe('resolveMap: keyed zip', () => {
  it('pairs values by position', () => {
    const resolved = resolveMap(STEP, { mode: 'zip', expand: { lr: [0.1, 0.2, 0.3], batch: [16, 32, 64] } }, {});
    assert.equal(resolved.mode, 'zip');
    assert.equal(resolved.length, 3);
    assert.deepEqual(all(resolved), [
      { lr: 0.1, batch: 16 },
      { lr: 0.2, batch: 32 },
      { lr: 0.3, batch: 64 },
    ]);
  });

  it('rejects lists of different lengths, listing each key and its length', () => {
    assertMapError(
      () => resolveMap(STEP, { mode: 'zip', expand: { lr: [0.1, 0.2, 0.3], batch: { $xcom: 'gen' } } }, { gen: [16, 32] }),
      new RegExp(`^${STEP.replace('.', '\\.')} zips`),
      /lr: 3, batch: 2/,
      /mode 'product'/,
    );
  });
});

describe('resolveMap: a single source', () => {
  it('uses the items of a literal list; object items as they are, others as map.item', () => {
    const resolved = resolveMap(STEP, { expand: [{ lr: 0.1, batch: 8 }, 5, 'x', null, [1, 2]] }, {});
    assert.equal(resolved.mode, 'single');
    assert.equal(resolved.keys, null);
    assert.deepEqual(all(resolved), [{ lr: 0.1, batch: 8 }, { item: 5 }, { item: 'x' }, { item: null }, { item: [1, 2] }]);
  });

  it('returns a copy of an object item, so changing it leaves the list alone', () => {
    const resolved = resolveMap(STEP, { expand: [{ lr: 0.1 }] }, {});
    const values = mapValues(resolved, 0);
    values.map_index = 0;
    assert.deepEqual(resolved.lists[0], [{ lr: 0.1 }]);
  });

  it('reads a list from an upstream XCom, and from one of its keys', () => {
    const xcom = { gen: [{ lr: 1 }, { lr: 2 }], grid: { grid: [10, 20, 30], other: 'x' } };
    assert.deepEqual(all(resolveMap(STEP, { expand: { $xcom: 'gen' } }, xcom)), [{ lr: 1 }, { lr: 2 }]);
    assert.deepEqual(all(resolveMap(STEP, { expand: { $xcom: 'grid', key: 'grid' } }, xcom)), [{ item: 10 }, { item: 20 }, { item: 30 }]);
  });

  it('maps a dict as its entries, in insertion order', () => {
    const xcom = { shards: { eu: 's3://eu', us: 's3://us', ap: { bucket: 'ap' } } };
    assert.deepEqual(all(resolveMap(STEP, { expand: { $xcom: 'shards' } }, xcom)), [
      { key: 'eu', value: 's3://eu' },
      { key: 'us', value: 's3://us' },
      { key: 'ap', value: { bucket: 'ap' } },
    ]);
  });

  it('maps a dict under a keyed source as entries too', () => {
    const resolved = resolveMap(STEP, { expand: { shard: { $xcom: 'shards' }, seed: [1, 2] } }, { shards: { eu: 1, us: 2 } });
    assert.deepEqual(mapValues(resolved, 1), { shard: { key: 'eu', value: 1 }, seed: 2 });
  });

  it('allows an empty list: no indices', () => {
    assert.equal(resolveMap(STEP, { expand: [] }, {}).length, 0);
    assert.equal(resolveMap(STEP, { expand: { $xcom: 'gen' } }, { gen: [] }).length, 0);
    assert.equal(resolveMap(STEP, { expand: { $xcom: 'gen' } }, { gen: {} }).length, 0);
  });
});

describe('resolveMap: XCom of the wrong shape', () => {
  const cases: [string, Json, RegExp][] = [
    ['a string', 'not a list', /which is a string, not a list or dict/],
    ['a number', 42, /which is a number, not a list or dict/],
    ['a boolean', true, /which is a boolean, not a list or dict/],
    ['null', null, /which is null, not a list or dict/],
  ];
  for (const [name, value, pattern] of cases) {
    it(`rejects ${name}, naming the upstream step and the type`, () => {
      assertMapError(() => resolveMap(STEP, { expand: { $xcom: 'gen' } }, { gen: value }), new RegExp(`^${STEP} maps over the XCom of 'gen'`), pattern, /return a list/);
    });
  }

  it('names the key too, as in the documented message', () => {
    assertMapError(
      () => resolveMap(STEP, { expand: { $xcom: 'generate_hyperparams', key: 'grid' } }, { generate_hyperparams: { grid: 'a,b' } }),
      /^model_training\.train_model maps over the XCom of 'generate_hyperparams' \(key 'grid'\), which is a string, not a list or dict; return a list \(one item per index\) or a dict$/,
    );
  });

  it('names the field of a keyed source', () => {
    assertMapError(() => resolveMap(STEP, { expand: { lr: { $xcom: 'gen' }, b: [1] } }, { gen: 3 }), /maps map\.expand\.lr over the XCom of 'gen', which is a number/);
  });

  it('rejects a missing XCom (skipped upstream), without reading Object.prototype', () => {
    assertMapError(() => resolveMap(STEP, { expand: { $xcom: 'gen' } }, {}), /XCom of 'gen', which is missing/, /skipped or returned nothing/);
    assertMapError(() => resolveMap(STEP, { expand: { $xcom: 'constructor' } }, {}), /XCom of 'constructor', which is missing/);
  });

  it('rejects a key that the XCom lacks, listing the keys it has', () => {
    assertMapError(() => resolveMap(STEP, { expand: { $xcom: 'gen', key: 'grid' } }, { gen: { lrs: [1], seeds: [2] } }), /\(key 'grid'\), which is missing \(its keys: lrs, seeds\)/);
  });

  it('rejects a key on an XCom that is not a dict', () => {
    assertMapError(() => resolveMap(STEP, { expand: { $xcom: 'gen', key: 'grid' } }, { gen: [1, 2] }), /\(key 'grid'\), but that XCom is a list, not a dict with key 'grid'/);
  });

  it('rejects an empty keyed expand', () => {
    assertMapError(() => resolveMap(STEP, { expand: {} }, {}), /map\.expand has no keys/);
  });
});

describe('checkMapLength and mapDefaults', () => {
  it('throws when the map is longer than maxMapLength, with the shape and the fix', () => {
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    const resolved = resolveMap(STEP, { expand: { lr: range(10), seed: range(1_200) } }, {});
    assertMapError(
      () => checkMapLength(STEP, resolved, 1_024),
      /^model_training\.train_model would create 12,000 indices \(lr 10 × seed 1,200\), more than maxMapLength 1,024; raise map\.maxMapLength or shrink the grid$/,
    );
  });

  it('accepts a map of exactly maxMapLength', () => {
    const resolved = resolveMap(STEP, { expand: Array.from({ length: 1_024 }, (_, i) => i) }, {});
    assert.doesNotThrow(() => checkMapLength(STEP, resolved, 1_024));
    assertMapError(() => checkMapLength(STEP, resolved, 1_000), /would create 1,024 indices, more than maxMapLength 1,000/);
  });

  it('fills in the defaults', () => {
    assert.deepEqual(mapDefaults({ expand: { a: [1] } }), { mode: 'product', maxActive: 256, maxMapLength: 1024, minSuccessRatio: 1 });
    assert.deepEqual(mapDefaults({ expand: [1, 2] }).mode, 'single');
    assert.deepEqual(mapDefaults({ expand: { $xcom: 'gen' } }).mode, 'single');
  });

  it('keeps given values and caps maxActive at 2,000', () => {
    assert.deepEqual(mapDefaults({ expand: { a: [1] }, mode: 'zip', maxActive: 8, maxMapLength: 50_000, minSuccessRatio: 0.8 }), {
      mode: 'zip',
      maxActive: 8,
      maxMapLength: 50_000,
      minSuccessRatio: 0.8,
    });
    assert.equal(mapDefaults({ expand: [1], maxActive: 5_000 }).maxActive, 2_000);
  });
});

describe('mapProblems', () => {
  const ids = ['gen', 'train_model', 'other'];
  const problems = (map: unknown): string[] => mapProblems('train_model', map as MapSpec, ids);

  it('accepts good maps, including an empty literal list', () => {
    assert.deepEqual(problems({ expand: { lr: [0.1, 0.01], seed: { $xcom: 'gen', key: 'seeds' } }, maxActive: 4, minSuccessRatio: 0.5 }), []);
    assert.deepEqual(problems({ expand: [] }), []);
    assert.deepEqual(problems({ expand: { $xcom: 'gen' }, earlyStopping: { metric: 'val_accuracy', mode: 'max', minSteps: 2, gracePeriod: '5m', minTrials: 4 } }), []);
  });

  for (const [value, got] of [
    [0, '0'],
    [2001, '2001'],
    [1.5, '1.5'],
    ['4', "'4'"],
  ] as const) {
    it(`flags maxActive ${got}`, () => {
      assert.deepEqual(problems({ expand: [1], maxActive: value }), [`step 'train_model': map.maxActive must be an integer from 1 to 2000 (got ${got})`]);
    });
  }

  it('flags maxMapLength, minSuccessRatio and mode', () => {
    assert.deepEqual(problems({ expand: [1], maxMapLength: 0 }), ["step 'train_model': map.maxMapLength must be a positive integer (got 0)"]);
    assert.deepEqual(problems({ expand: [1], minSuccessRatio: 0 }), ["step 'train_model': map.minSuccessRatio must be a number above 0 and at most 1 (got 0)"]);
    assert.match(problems({ expand: [1], minSuccessRatio: 1.2 })[0] ?? '', /minSuccessRatio .* \(got 1\.2\)/);
    assert.deepEqual(problems({ expand: { a: [1] }, mode: 'cross' }), ["step 'train_model': map.mode must be 'product' or 'zip' (got 'cross')"]);
  });

  it('flags a missing, empty or malformed expand', () => {
    assert.match(problems({})[0] ?? '', /map\.expand is required/);
    assert.match(problems({ expand: {} })[0] ?? '', /map\.expand has no keys/);
    assert.match(problems({ expand: 'lr' })[0] ?? '', /map\.expand must be a list, an XCom reference, or an object of them \(got 'lr'\)/);
    assert.match(problems({ expand: { lr: 0.1 } })[0] ?? '', /map\.expand\.lr must be a list or an XCom reference/);
    assert.match(problems('nope')[0] ?? '', /map must be an object/);
  });

  it('flags XCom references to unknown steps and to the step itself', () => {
    assert.deepEqual(problems({ expand: { lr: { $xcom: 'ghost' } } }), [
      "step 'train_model': map.expand.lr reads the XCom of 'ghost', which is no step of this pipeline",
    ]);
    assert.match(problems({ expand: { $xcom: 'train_model' } })[0] ?? '', /map\.expand reads the step's own XCom/);
  });

  it('flags zip of literal lists of different lengths, but not when XCom lengths are unknown', () => {
    assert.deepEqual(problems({ mode: 'zip', expand: { lr: [1, 2, 3], batch: [1, 2] } }), [
      "step 'train_model': map.mode 'zip' pairs lists of different lengths (lr: 3, batch: 2); give every key the same number of items",
    ]);
    assert.deepEqual(problems({ mode: 'zip', expand: { lr: [1, 2, 3], batch: { $xcom: 'gen' } } }), []);
  });

  it('flags a literal product larger than maxMapLength', () => {
    const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
    assert.deepEqual(problems({ expand: { a: range(40), b: range(30) } }), [
      "step 'train_model': map.expand would create 1,200 indices (a 40 × b 30), more than maxMapLength 1,024; raise map.maxMapLength or shrink the grid",
    ]);
    assert.deepEqual(problems({ expand: { a: range(40), b: range(30) }, maxMapLength: 1_200 }), []);
    assert.match(problems({ expand: range(11), maxMapLength: 10 })[0] ?? '', /map\.expand has 11 items, more than maxMapLength 10/);
  });

  it('flags each bad earlyStopping field', () => {
    assert.deepEqual(problems({ expand: [1], earlyStopping: { metric: '', mode: 'up', minSteps: 0, minTrials: 2.5, gracePeriod: 'soon' } }), [
      "step 'train_model': map.earlyStopping.metric must name the metric trials report, e.g. 'val_accuracy' (got '')",
      "step 'train_model': map.earlyStopping.mode must be 'max' (higher is better) or 'min' (got 'up')",
      "step 'train_model': map.earlyStopping.minSteps must be a positive integer (got 0)",
      "step 'train_model': map.earlyStopping.minTrials must be a positive integer (got 2.5)",
      "step 'train_model': map.earlyStopping.gracePeriod 'soon' is not a duration; write it like '30s', '5m' or '1h30m'",
    ]);
  });

  it('flags unknown fields, which are likely typos', () => {
    assert.deepEqual(problems({ expand: [1], max_active: 3 }), [
      "step 'train_model': map.max_active is not a map field; fields: expand, mode, maxActive, maxMapLength, minSuccessRatio, earlyStopping",
    ]);
    assert.match(problems({ expand: [1], earlyStopping: { metric: 'a', mode: 'max', patience: 3 } })[0] ?? '', /map\.earlyStopping\.patience is not an early stopping field/);
  });
});
