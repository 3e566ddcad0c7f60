import type { Entry, EntryTimes } from './entry.js';

/**
 * The versioned binary form of an entry, as Redis holds it: magic, version, kind, times, status or format, then
 * length-prefixed strings and the body. Redis holds exactly the bytes a replay writes.
 */

/** Raised for bytes that are not an entry of a version we read; the caller treats it as a miss. */
export class EntryDecodeError extends Error {
  override readonly name = 'EntryDecodeError';
}

const MAGIC_0 = 0x52; // 'R'
const MAGIC_1 = 0x43; // 'C'
/**
 * 2: responses carry the headers a hit removes (`unset`). 3: every entry carries `keepUntil`. Entries of another
 * version read as a miss and are replaced.
 */
export const ENTRY_FORMAT_VERSION = 3;
const KINDS = ['response', 'vary', 'value'] as const;
const FIXED_BYTES = 4 + 8 * 5 + 2;

/** Encodes an entry: magic, version, kind, times, status/format, then length-prefixed strings and body. */
export function encodeEntry(entry: Entry): Buffer {
  const strings = stringSections(entry);
  const body = entry.kind === 'vary' ? EMPTY : entry.body;
  let size = FIXED_BYTES + 4 + body.length;
  for (const list of strings) {
    size += 2;
    for (const s of list) size += 4 + Buffer.byteLength(s);
  }
  const out = Buffer.allocUnsafe(size);
  out[0] = MAGIC_0;
  out[1] = MAGIC_1;
  out[2] = ENTRY_FORMAT_VERSION;
  out[3] = KINDS.indexOf(entry.kind);
  out.writeDoubleLE(entry.createdAt, 4);
  out.writeDoubleLE(entry.freshUntil, 12);
  out.writeDoubleLE(entry.staleWhileRevalidateUntil, 20);
  out.writeDoubleLE(entry.staleIfErrorUntil, 28);
  out.writeDoubleLE(entry.keepUntil, 36);
  out.writeUInt16LE(entry.kind === 'response' ? entry.status : entry.kind === 'value' && entry.format === 'buffer' ? 1 : 0, 44);
  let at = FIXED_BYTES;
  for (const list of strings) {
    out.writeUInt16LE(list.length, at);
    at += 2;
    for (const s of list) {
      const length = out.write(s, at + 4);
      out.writeUInt32LE(length, at);
      at += 4 + length;
    }
  }
  out.writeUInt32LE(body.length, at);
  body.copy(out, at + 4);
  return out;
}

/** Decodes bytes written by `encodeEntry`; throws `EntryDecodeError` for anything else. */
export function decodeEntry(bytes: Buffer): Entry {
  if (bytes.length < FIXED_BYTES + 4 || bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) throw new EntryDecodeError('not a cache entry');
  if (bytes[2] !== ENTRY_FORMAT_VERSION) throw new EntryDecodeError(`entry format version ${bytes[2]} is not ${ENTRY_FORMAT_VERSION}`);
  const kind = KINDS[bytes[3] as number];
  if (kind === undefined) throw new EntryDecodeError('unknown entry kind');
  const reader = new Reader(bytes, FIXED_BYTES);
  const times: EntryTimes = {
    createdAt: bytes.readDoubleLE(4),
    freshUntil: bytes.readDoubleLE(12),
    staleWhileRevalidateUntil: bytes.readDoubleLE(20),
    staleIfErrorUntil: bytes.readDoubleLE(28),
    keepUntil: bytes.readDoubleLE(36),
  };
  const code = bytes.readUInt16LE(44);
  const [meta = [], headers = [], tags = [], unset = []] = [reader.list(), reader.list(), reader.list(), reader.list()];
  const body = reader.body();
  if (kind === 'vary') return { kind, ...times, fields: headers };
  const [name = '', etag = ''] = meta;
  if (kind === 'value') return { kind, ...times, format: code === 1 ? 'buffer' : 'json', body, name, tags };
  if (headers.length % 2 !== 0 || code < 100 || code > 999) throw new EntryDecodeError('malformed response entry');
  return { kind, ...times, status: code, headers, unset, body, etag, name, tags };
}

const EMPTY = Buffer.alloc(0);

function stringSections(entry: Entry): [string[], readonly string[], readonly string[], readonly string[]] {
  if (entry.kind === 'vary') return [[], entry.fields, [], []];
  if (entry.kind === 'value') return [[entry.name], [], entry.tags, []];
  return [[entry.name, entry.etag], entry.headers, entry.tags, entry.unset];
}

class Reader {
  #bytes: Buffer;
  #at: number;
  constructor(bytes: Buffer, at: number) {
    this.#bytes = bytes;
    this.#at = at;
  }
  list(): string[] {
    const count = this.#take(2).readUInt16LE(0);
    const out: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = this.#take(4).readUInt32LE(0);
      out.push(this.#take(length).toString('utf8'));
    }
    return out;
  }
  body(): Buffer {
    const length = this.#take(4).readUInt32LE(0);
    const body = this.#take(length);
    if (this.#at !== this.#bytes.length) throw new EntryDecodeError('trailing bytes after entry');
    return body;
  }
  #take(length: number): Buffer {
    if (this.#at + length > this.#bytes.length) throw new EntryDecodeError('entry is truncated');
    const slice = this.#bytes.subarray(this.#at, this.#at + length);
    this.#at += length;
    return slice;
  }
}
