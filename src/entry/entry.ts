/**
 * What the cache stores: responses, Vary indexes and getOrSet values, with the moments they stay usable. Bodies are
 * kept as bytes end to end: a hit never re-serialises or parses a body (see codec.ts for the bytes in Redis).
 */

/** When an entry is fresh, and how long it may still be served stale (epoch milliseconds). */
export interface EntryTimes {
  /** When the response was made: when it arrived, less the age it arrived with. Its `Age` counts from here. */
  readonly createdAt: number;
  readonly freshUntil: number;
  /** Served stale (with one background refresh) until then. */
  readonly staleWhileRevalidateUntil: number;
  /** Served stale in place of a failed handler until then. */
  readonly staleIfErrorUntil: number;
  /** Kept until then: as long as it may be served, or longer when it can be revalidated (it has a validator). */
  readonly keepUntil: number;
}

/** A stored HTTP response. `headers` is a flat `[name, value, name, value, …]` list, repeated names kept. */
export interface ResponseEntry extends EntryTimes {
  readonly kind: 'response';
  readonly status: number;
  readonly headers: readonly string[];
  /**
   * Lower-cased names of headers that were on the response before the cache saw it (Express's `X-Powered-By`, say)
   * and that the middleware after the cache removed: a hit removes them too.
   */
  readonly unset: readonly string[];
  readonly body: Buffer;
  readonly etag: string;
  readonly name: string;
  readonly tags: readonly string[];
}

/** Stored at a base key when the response varies: names the request headers that select the variant. */
export interface VaryEntry extends EntryTimes {
  readonly kind: 'vary';
  readonly fields: readonly string[];
}

/** A `getOrSet` value: JSON text, or raw bytes when the value was a Buffer. */
export interface ValueEntry extends EntryTimes {
  readonly kind: 'value';
  readonly format: 'json' | 'buffer';
  readonly body: Buffer;
  readonly name: string;
  readonly tags: readonly string[];
}

export type Entry = ResponseEntry | VaryEntry | ValueEntry;

/** Latest moment an entry is of any use, served or revalidated: its storage lifetime. */
export function entryExpiresAt(entry: EntryTimes): number {
  return entry.keepUntil;
}

/** Approximate bytes an entry holds, used to bound the memory tier. */
export function entrySize(entry: Entry): number {
  let size = 160;
  if (entry.kind === 'vary') return size + entry.fields.reduce((n, f) => n + f.length, 0);
  size += entry.body.length + entry.name.length + entry.tags.reduce((n, t) => n + t.length + 16, 0);
  if (entry.kind === 'response') size += entry.etag.length + [...entry.headers, ...entry.unset].reduce((n, h) => n + h.length + 16, 0);
  return size;
}

/** How long an entry stays fresh, then usable stale, from the moment it was made. */
export interface Lifetimes {
  readonly freshMs: number;
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  /** Keep it at least this long from its making (for revalidation); by default as long as it may be served. */
  readonly keepMs?: number;
}

/** The moments of an entry made at `createdAt` with these lifetimes. */
export function entryTimes(createdAt: number, { freshMs, staleWhileRevalidateMs, staleIfErrorMs, keepMs = 0 }: Lifetimes): EntryTimes {
  const freshUntil = createdAt + freshMs;
  const staleWhileRevalidateUntil = freshUntil + staleWhileRevalidateMs;
  const staleIfErrorUntil = freshUntil + staleIfErrorMs;
  return {
    createdAt,
    freshUntil,
    staleWhileRevalidateUntil,
    staleIfErrorUntil,
    keepUntil: Math.max(staleWhileRevalidateUntil, staleIfErrorUntil, createdAt + keepMs),
  };
}
