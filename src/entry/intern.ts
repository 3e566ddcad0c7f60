/**
 * Long-lived strings and buffers kept small: recurring strings shared, joined strings flattened, pooled slices copied
 * out. For what the cache holds for a long time, never for per-request values.
 */

/**
 * Returns one shared copy of short strings that recur across entries (header names, content types, route names),
 * so ten thousand cached responses hold one `application/json; charset=utf-8`, not ten thousand. Bounded: once
 * full it stops remembering and hands strings back as they are.
 */
export class Interner {
  readonly #table = new Map<string, string>();
  readonly #maxSize: number;
  readonly #maxLength: number;

  constructor({ maxSize = 4096, maxLength = 128 } = {}) {
    this.#maxSize = maxSize;
    this.#maxLength = maxLength;
  }

  intern(text: string): string {
    if (text.length > this.#maxLength) return text;
    const known = this.#table.get(text);
    if (known !== undefined) return known;
    if (this.#table.size < this.#maxSize) this.#table.set(text, text);
    return text;
  }
}

/**
 * Joined strings (`W/"400-…"`, a key built from parts) are held by V8 as trees of their parts; a flat copy is about
 * half the size. Worth it only for strings that stay in the cache.
 */
export function flatten(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}

/**
 * A body that is a small slice of a larger buffer (Node's 8 KB allocation pool, or a socket read) would keep the
 * whole of it alive for as long as the entry lives: measured, about 3.2 KB held per cached 1 KB body. Long-lived
 * bodies get a buffer of their own.
 */
export function compact(body: Buffer): Buffer {
  if (body.byteOffset === 0 && body.buffer.byteLength === body.length) return body;
  const own = Buffer.allocUnsafeSlow(body.length);
  body.copy(own);
  return own;
}
