import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { canonicalJson, sha256Hex, specVersion } from '../../pipeline';

function nodeSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** A small deterministic generator, so a failure can be reproduced. */
function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** Random text of whole code points from ASCII, Latin, CJK and astral (emoji) ranges. */
function randomText(next: () => number, length: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e],
    [0x00, 0x1f],
    [0xa0, 0x7ff],
    [0x4e00, 0x9fff],
    [0xe000, 0xfffd],
    [0x1f300, 0x1faff],
    [0x10000, 0x10ffff],
  ];
  let text = '';
  for (let i = 0; i < length; i++) {
    const [low, high] = ranges[Math.floor(next() * ranges.length)] ?? [0x41, 0x5a];
    text += String.fromCodePoint(low + Math.floor(next() * (high - low + 1)));
  }
  return text;
}

describe('sha256Hex', () => {
  it('matches the published digests of "" and "abc"', () => {
    assert.equal(sha256Hex(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    assert.equal(sha256Hex('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('equals node:crypto for "" and "abc"', () => {
    assert.equal(sha256Hex(''), nodeSha256(''));
    assert.equal(sha256Hex('abc'), nodeSha256('abc'));
  });

  it('equals node:crypto for lengths around the block and padding boundaries', () => {
    for (const length of [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129]) {
      const text = 'x'.repeat(length);
      assert.equal(sha256Hex(text), nodeSha256(text), `length ${length}`);
    }
  });

  it('equals node:crypto for a long string spanning many blocks', () => {
    const text = Array.from({ length: 1000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    assert.equal(text.length, 1000);
    assert.equal(sha256Hex(text), nodeSha256(text));
    const longer = 'The quick brown fox jumps over the lazy dog. '.repeat(500);
    assert.equal(sha256Hex(longer), nodeSha256(longer));
  });

  it('equals node:crypto for unicode: emoji, CJK, accents, 2-, 3- and 4-byte UTF-8', () => {
    for (const text of ['é', 'ß', '€', '日本語のテキスト', '训练模型', '🚀', '👩‍💻 trains a model 🤖', 'mixed ascii ü 中 🎉 end', '\u{10FFFF}', '\u0000']) {
      assert.equal(sha256Hex(text), nodeSha256(text), JSON.stringify(text));
    }
  });

  it('equals node:crypto for 50 random strings', () => {
    const next = randomSource(20260301);
    for (let i = 0; i < 50; i++) {
      const text = randomText(next, Math.floor(next() * 300));
      assert.equal(sha256Hex(text), nodeSha256(text), `string ${i}: ${JSON.stringify(text)}`);
    }
  });

  it('encodes a lone surrogate as U+FFFD like node:crypto does', () => {
    for (const text of ['\uD800', 'a\uDC00b', '\uDBFF\uDBFF']) {
      assert.equal(sha256Hex(text), nodeSha256(text), JSON.stringify(text));
    }
  });

  it('gives 64 lowercase hex digits', () => {
    assert.match(sha256Hex('anything'), /^[0-9a-f]{64}$/);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys at every depth', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }), '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}');
  });

  it('gives equal text for objects that differ only in key order', () => {
    const one = { id: 'p', steps: [{ id: 'a', config: { command: ['x'], cwd: '/' } }], params: { a: { default: 1 }, b: { default: 2 } } };
    const two = { params: { b: { default: 2 }, a: { default: 1 } }, steps: [{ config: { cwd: '/', command: ['x'] }, id: 'a' }], id: 'p' };
    assert.equal(canonicalJson(one), canonicalJson(two));
    assert.equal(specVersion(one), specVersion(two));
  });

  it('keeps array order', () => {
    assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
    assert.equal(canonicalJson(['b', 'a']), '["b","a"]');
  });

  it('drops undefined properties and writes undefined array items as null, like JSON.stringify', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
    assert.equal(canonicalJson([undefined, 1]), '[null,1]');
  });

  it('writes scalars and escapes like JSON', () => {
    assert.equal(canonicalJson('a"b\n'), JSON.stringify('a"b\n'));
    assert.equal(canonicalJson(1.5), '1.5');
    assert.equal(canonicalJson(true), 'true');
    assert.equal(canonicalJson(null), 'null');
    assert.equal(canonicalJson({ 'quote"key': 1 }), '{"quote\\"key":1}');
  });

  it('parses back to the same value', () => {
    const value = { z: [1, 'two', { y: null, x: false }], a: 'ü 🚀' };
    assert.deepEqual(JSON.parse(canonicalJson(value)), value);
  });
});

describe('specVersion', () => {
  it('is the first 12 hex digits of the canonical JSON hash', () => {
    const spec = { id: 'p', steps: [] };
    assert.equal(specVersion(spec), nodeSha256(canonicalJson(spec)).slice(0, 12));
  });
});
