import type { ValueEntry } from './entry.js';

/** Encodes a `getOrSet` value: a Buffer as raw bytes, anything else as JSON (Buffers nested inside round-trip too). */
export function encodeValue(value: unknown): { format: ValueEntry['format']; body: Buffer } | undefined {
  if (Buffer.isBuffer(value)) return { format: 'buffer', body: value };
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // Buffer#toJSON runs before the replacer sees it, yielding { type: 'Buffer', data: [...] }; base64 is far smaller.
    // The holder's own property tells a real Buffer from a plain object of that shape, which must stay as it is.
    return Buffer.isBuffer(this[key]) && isBufferJson(v) ? { $buffer: Buffer.from(v.data).toString('base64') } : v;
  });
  // undefined, functions and symbols have no JSON form: such a value is returned but not cached.
  return text === undefined ? undefined : { format: 'json', body: Buffer.from(text) };
}

/** Decodes a stored value into a fresh object, so callers never share (and mutate) one cached instance. */
export function decodeValue(entry: ValueEntry): unknown {
  if (entry.format === 'buffer') return Buffer.from(entry.body);
  return JSON.parse(entry.body.toString('utf8'), (_key, v: unknown) =>
    isEncodedBuffer(v) ? Buffer.from(v.$buffer, 'base64') : v);
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data);
}

function isEncodedBuffer(v: unknown): v is { $buffer: string } {
  return typeof v === 'object' && v !== null && typeof (v as { $buffer?: unknown }).$buffer === 'string' && Object.keys(v).length === 1;
}
