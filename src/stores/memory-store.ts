import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import { entrySize, type Entry } from '../entry/entry.js';
import { flatten } from '../entry/intern.js';

/**
 * The in-memory tier: an LRU bounded by entries and bytes. Synchronous, so a memory hit needs no promise.
 */
export class MemoryStore {
  readonly #lru: LRUCache<string, Entry>;
  /** tag-set key -> entry keys, and back, so evictions keep the tag index small. */
  readonly #tagged = new Map<string, Set<string>>();
  readonly #tagsOf = new Map<string, readonly string[]>();

  constructor({ maxEntries, maxBytes, clock }: { maxEntries: number; maxBytes: number; clock: Clock }) {
    this.#lru = new LRUCache<string, Entry>({
      max: maxEntries,
      maxSize: maxBytes,
      // TTLs run on the cache's clock; reading it on every check (no cached "now") keeps a fake clock exact.
      perf: { now: () => clock.now() },
      ttlResolution: 0,
      sizeCalculation: (entry) => entrySize(entry),
      dispose: (_entry, key) => this.#untag(key),
    });
  }

  peek(key: string): Entry | undefined {
    return this.#lru.get(key);
  }

  /** Whether `key` holds a live entry, without counting as a use (no LRU reordering). */
  has(key: string): boolean {
    return this.#lru.has(key);
  }

  /** Entries larger than the whole tier are skipped, not thrown. */
  put(key: string, entry: Entry, ttlMs: number, tagKeys: readonly string[]): void {
    if (ttlMs <= 0) return;
    // Keys are joined from prefix and digest; the flat copy the LRU holds is half the size of the joined one.
    key = flatten(key);
    this.#lru.set(key, entry, { ttl: Math.ceil(ttlMs) });
    if (tagKeys.length === 0 || !this.#lru.has(key)) return;
    this.#tagsOf.set(key, tagKeys);
    for (const tagKey of tagKeys) {
      let keys = this.#tagged.get(tagKey);
      if (!keys) this.#tagged.set(tagKey, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Removes these keys' entries; returns the keys that had one. */
  delete(keys: readonly string[]): string[] {
    return keys.filter((key) => this.#lru.delete(key));
  }

  /** Removes every entry carrying one of these tags; returns their keys. */
  deleteTagged(tagKeys: readonly string[]): string[] {
    const removed: string[] = [];
    for (const tagKey of tagKeys) {
      const keys = this.#tagged.get(tagKey);
      if (!keys) continue;
      for (const key of [...keys]) if (this.#lru.delete(key)) removed.push(key);
      this.#tagged.delete(tagKey);
    }
    return removed;
  }

  /** Removes the entries stored under any of these counter names (a scan: names are invalidated rarely); returns their keys. */
  deleteNamed(names: readonly string[]): string[] {
    if (names.length === 0) return [];
    const wanted = new Set(names);
    const doomed: string[] = [];
    for (const [key, entry] of this.#lru.entries()) if (entry.kind !== 'vary' && wanted.has(entry.name)) doomed.push(key);
    for (const key of doomed) this.#lru.delete(key);
    return doomed;
  }

  clear(): void {
    this.#lru.clear();
    this.#tagged.clear();
    this.#tagsOf.clear();
  }

  get size(): number {
    return this.#lru.size;
  }

  get bytes(): number {
    return this.#lru.calculatedSize;
  }

  #untag(key: string): void {
    const tagKeys = this.#tagsOf.get(key);
    if (!tagKeys) return;
    this.#tagsOf.delete(key);
    for (const tagKey of tagKeys) {
      const keys = this.#tagged.get(tagKey);
      keys?.delete(key);
      if (keys?.size === 0) this.#tagged.delete(tagKey);
    }
  }
}
