import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ValueEntry } from '../../src/entry/entry.js';
import { decodeValue, encodeValue } from '../../src/entry/value-codec.js';

const times = { createdAt: 0, freshUntil: 1, staleWhileRevalidateUntil: 1, staleIfErrorUntil: 1, keepUntil: 1 };

/** What a caller gets back after a value went into the cache and came out again. */
function roundTrip(value: unknown): unknown {
  const encoded = encodeValue(value);
  assert.ok(encoded, 'value should be cacheable');
  const entry: ValueEntry = { kind: 'value', ...times, ...encoded, name: 'getOrSet', tags: [] };
  return decodeValue(entry);
}

describe('value codec', () => {
  it('round-trips JSON values', () => {
    for (const value of [0, -1.5, 'text', '', true, false, null, [], [1, 'a', null], { a: { b: [1, 2] }, c: 'ü✓' }]) {
      assert.deepEqual(roundTrip(value), value);
    }
  });

  it('stores a top-level Buffer as raw bytes and returns a Buffer', () => {
    const bytes = Buffer.from([0, 255, 1, 254]);
    const encoded = encodeValue(bytes);
    assert.equal(encoded?.format, 'buffer');
    assert.ok(encoded?.body.equals(bytes));
    const back = roundTrip(bytes);
    assert.ok(Buffer.isBuffer(back) && back.equals(bytes));
  });

  it('round-trips Buffers nested inside objects and arrays, compactly', () => {
    const blob = Buffer.alloc(1000, 7);
    const value = { id: 1, avatar: blob, parts: [Buffer.from('a'), Buffer.from('b')] };
    const encoded = encodeValue(value);
    assert.equal(encoded?.format, 'json');
    // base64 (about 1.34x), not a JSON array of numbers (about 2x).
    assert.ok((encoded?.body.length ?? Infinity) < 1500, `encoded ${encoded?.body.length} bytes`);
    const back = roundTrip(value) as typeof value;
    assert.ok(Buffer.isBuffer(back.avatar) && back.avatar.equals(blob));
    assert.ok(back.parts.every((p, i) => Buffer.isBuffer(p) && p.toString() === ['a', 'b'][i]));
  });

  it('returns a plain object shaped like a serialised Buffer as that plain object', () => {
    // e.g. data that already went through JSON elsewhere: a miss returns it as is, so a hit must too.
    const value = { file: { type: 'Buffer', data: [104, 105] } };
    assert.deepEqual(roundTrip(value), value);
  });

  it('returns dates as their JSON text, as JSON does', () => {
    const at = new Date(Date.UTC(2025, 0, 1));
    assert.deepEqual(roundTrip({ at }), { at: at.toISOString() });
  });

  it('gives undefined (not cacheable) for values without a JSON form', () => {
    assert.equal(encodeValue(undefined), undefined);
    assert.equal(encodeValue(() => 1), undefined);
    assert.equal(encodeValue(Symbol('x')), undefined);
  });

  it('hands every caller a fresh copy', () => {
    const encoded = encodeValue({ list: [1] });
    assert.ok(encoded);
    const entry: ValueEntry = { kind: 'value', ...times, ...encoded, name: 'getOrSet', tags: [] };
    const first = decodeValue(entry) as { list: number[] };
    first.list.push(2);
    assert.deepEqual(decodeValue(entry), { list: [1] });
    const buffers: ValueEntry = { ...entry, format: 'buffer', body: Buffer.from('abc') };
    const b = decodeValue(buffers) as Buffer;
    b[0] = 0;
    assert.equal((decodeValue(buffers) as Buffer).toString(), 'abc');
  });

  it('throws JSON syntax errors for a corrupt json body', () => {
    const entry: ValueEntry = { kind: 'value', ...times, format: 'json', body: Buffer.from('{oops'), name: 'x', tags: [] };
    assert.throws(() => decodeValue(entry), SyntaxError);
  });
});
