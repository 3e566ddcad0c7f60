import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { decodeEntry, encodeEntry, ENTRY_FORMAT_VERSION, EntryDecodeError } from '../../src/entry/codec.js';
import { entryExpiresAt, entrySize, entryTimes, type Entry, type ResponseEntry, type ValueEntry, type VaryEntry } from '../../src/entry/entry.js';

const times = { createdAt: 1_700_000_000_000, freshUntil: 1_700_000_060_000, staleWhileRevalidateUntil: 1_700_000_070_000, staleIfErrorUntil: 1_700_000_090_000, keepUntil: 1_700_000_090_000 };

function responseEntry(body: Buffer = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13])): ResponseEntry {
  return {
    kind: 'response',
    ...times,
    status: 203,
    // Repeated names, original casing, non-ASCII values.
    unset: [], headers: ['Content-Type', 'application/octet-stream', 'Link', '</a>; rel=preload', 'Link', '</b>; rel=preload', 'X-Name', 'Zoë ✓'],
    body,
    etag: '"abc123"',
    name: '/files/:id',
    tags: ['file:1', 'owner:ünïcode'],
  };
}

const varyEntry: VaryEntry = { kind: 'vary', ...times, fields: ['accept-encoding', 'accept-language'] };
const jsonValue: ValueEntry = { kind: 'value', ...times, format: 'json', body: Buffer.from('{"a":[1,2,3]}'), name: 'getOrSet', tags: ['t'] };
const bufferValue: ValueEntry = { kind: 'value', ...times, format: 'buffer', body: randomBytes(300), name: 'blobs', tags: [] };

/** A decoded entry compared field by field, Buffers by content. */
function assertSameEntry(actual: Entry, expected: Entry): void {
  assert.deepEqual({ ...actual, ...('body' in actual ? { body: [...actual.body] } : {}) },
    { ...expected, ...('body' in expected ? { body: [...expected.body] } : {}) });
}

describe('entry encoding', () => {
  it('round-trips a response with a binary body and repeated headers', () => {
    const entry = responseEntry();
    const bytes = encodeEntry(entry);
    assert.equal(bytes.subarray(0, 2).toString('latin1'), 'RC');
    assert.equal(bytes[2], ENTRY_FORMAT_VERSION);
    const decoded = decodeEntry(bytes);
    assertSameEntry(decoded, entry);
    assert.ok(decoded.kind === 'response' && decoded.body.equals(entry.body));
  });

  it('round-trips a response with an empty body and no headers or tags', () => {
    const entry: ResponseEntry = { ...responseEntry(Buffer.alloc(0)), status: 204, headers: [], tags: [], etag: '', name: '' };
    assertSameEntry(decodeEntry(encodeEntry(entry)), entry);
  });

  it('round-trips a large body', () => {
    const entry = responseEntry(randomBytes(2 * 1024 * 1024));
    const decoded = decodeEntry(encodeEntry(entry));
    assert.ok(decoded.kind === 'response' && decoded.body.equals(entry.body));
  });

  it('round-trips a vary entry', () => {
    assertSameEntry(decodeEntry(encodeEntry(varyEntry)), varyEntry);
  });

  it('round-trips json and buffer values', () => {
    assertSameEntry(decodeEntry(encodeEntry(jsonValue)), jsonValue);
    assertSameEntry(decodeEntry(encodeEntry(bufferValue)), bufferValue);
  });

  it('rejects another format version', () => {
    const bytes = encodeEntry(responseEntry());
    for (const version of [0, ENTRY_FORMAT_VERSION + 1, 255]) {
      const other = Buffer.from(bytes);
      other[2] = version;
      assert.throws(() => decodeEntry(other), (error: unknown) => error instanceof EntryDecodeError && /version/.test(error.message));
    }
  });

  it('rejects wrong magic, unknown kinds, truncation, trailing bytes and garbage', () => {
    const bytes = encodeEntry(responseEntry());
    const cases: Record<string, Buffer> = {
      'wrong magic': Buffer.concat([Buffer.from('XX'), bytes.subarray(2)]),
      'unknown kind': Buffer.from(bytes).fill(9, 3, 4),
      empty: Buffer.alloc(0),
      'header only': bytes.subarray(0, 10),
      'one byte short': bytes.subarray(0, bytes.length - 1),
      'trailing byte': Buffer.concat([bytes, Buffer.from([0])]),
      'JSON text': Buffer.from('{"status":200,"body":"hi"}'),
      'random bytes': randomBytes(200),
    };
    for (const [label, input] of Object.entries(cases)) {
      assert.throws(() => decodeEntry(input), EntryDecodeError, label);
    }
  });

  it('rejects a response entry whose header list has an odd length', () => {
    const entry = { ...responseEntry(), headers: ['Content-Type'] };
    assert.throws(() => decodeEntry(encodeEntry(entry)), EntryDecodeError);
  });

  it('rejects every truncation of a valid entry', () => {
    for (const entry of [responseEntry(Buffer.from('hello')), varyEntry, jsonValue]) {
      const bytes = encodeEntry(entry);
      for (let length = 0; length < bytes.length; length++) {
        assert.throws(() => decodeEntry(bytes.subarray(0, length)), EntryDecodeError, `length ${length} of ${bytes.length}`);
      }
    }
  });

  it('never throws anything but EntryDecodeError on random mutations', () => {
    const originals = [encodeEntry(responseEntry()), encodeEntry(varyEntry), encodeEntry(jsonValue), encodeEntry(bufferValue)];
    let decoded = 0;
    let rejected = 0;
    for (let round = 0; round < 600; round++) {
      const original = originals[round % originals.length] as Buffer;
      const bytes = mutate(original, round);
      try {
        const entry = decodeEntry(bytes);
        assertWellFormed(entry);
        decoded++;
      } catch (error) {
        if (!(error instanceof EntryDecodeError)) {
          assert.fail(`round ${round}: ${String(error)} for bytes ${bytes.toString('hex').slice(0, 120)}`);
        }
        rejected++;
      }
    }
    // Both outcomes must actually occur, or the fuzzing is not exercising the decoder.
    assert.ok(decoded > 0 && rejected > 0, `decoded ${decoded}, rejected ${rejected}`);
  });

  it('entrySize grows with the body and the headers', () => {
    const small = entrySize(responseEntry(Buffer.alloc(10)));
    const large = entrySize(responseEntry(Buffer.alloc(10_000)));
    assert.ok(large - small >= 9990, `${small} -> ${large}`);
    const moreHeaders = entrySize({ ...responseEntry(Buffer.alloc(10)), headers: [...responseEntry().headers, 'X-Extra', 'y'.repeat(500)] });
    assert.ok(moreHeaders > small);
    assert.ok(entrySize(bufferValue) > bufferValue.body.length);
    assert.ok(entrySize(varyEntry) > 0);
  });

  it('an entry lives until its latest stale window ends, or longer when it is kept to be revalidated', () => {
    const made = entryTimes(1000, { freshMs: 60_000, staleWhileRevalidateMs: 10_000, staleIfErrorMs: 30_000 });
    assert.equal(entryExpiresAt(made), 1000 + 90_000);
    assert.equal(entryExpiresAt(entryTimes(1000, { freshMs: 60_000, staleWhileRevalidateMs: 10_000, staleIfErrorMs: 0 })), 1000 + 70_000);
    assert.equal(entryExpiresAt(entryTimes(1000, { freshMs: 0, staleWhileRevalidateMs: 0, staleIfErrorMs: 0, keepMs: 60_000 })), 1000 + 60_000);
    assert.deepEqual([made.freshUntil, made.staleWhileRevalidateUntil, made.staleIfErrorUntil], [61_000, 71_000, 91_000]);
  });
});

/** A deterministic mix of byte flips, splices, truncations and insertions. */
function mutate(original: Buffer, seed: number): Buffer {
  let state = seed * 2654435761 + 1;
  const next = (n: number) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % n;
  };
  const bytes = Buffer.from(original);
  switch (seed % 5) {
    case 0: { // flip a few bytes anywhere
      for (let i = 0, n = 1 + next(4); i < n; i++) bytes[next(bytes.length)] = next(256);
      return bytes;
    }
    case 1: { // flip bytes in the length fields and header region, where the decoder is most exposed
      for (let i = 0, n = 1 + next(3); i < n; i++) bytes[36 + next(Math.min(64, bytes.length - 36))] = next(256);
      return bytes;
    }
    case 2: // cut anywhere
      return bytes.subarray(0, next(bytes.length));
    case 3: // insert random bytes in the middle
      return Buffer.concat([bytes.subarray(0, next(bytes.length)), randomBytes(1 + next(8)), bytes.subarray(next(bytes.length))]);
    default: { // keep magic and version, randomise the rest
      const out = randomBytes(bytes.length);
      bytes.copy(out, 0, 0, 4);
      return out;
    }
  }
}

function assertWellFormed(entry: Entry): void {
  assert.ok(['response', 'vary', 'value'].includes(entry.kind));
  for (const t of [entry.createdAt, entry.freshUntil, entry.staleWhileRevalidateUntil, entry.staleIfErrorUntil, entry.keepUntil]) assert.equal(typeof t, 'number');
  if (entry.kind === 'vary') {
    assert.ok(entry.fields.every((f) => typeof f === 'string'));
    return;
  }
  assert.ok(Buffer.isBuffer(entry.body));
  assert.ok(entry.tags.every((t) => typeof t === 'string'));
  if (entry.kind === 'value') {
    assert.ok(entry.format === 'json' || entry.format === 'buffer');
    return;
  }
  assert.ok(Number.isInteger(entry.status) && entry.status >= 100 && entry.status <= 999);
  assert.equal(entry.headers.length % 2, 0);
}
