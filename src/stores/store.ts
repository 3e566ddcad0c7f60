import type { Entry } from '../entry.js';

/** One tier of the cache. Keys are full key names (prefix included); tags are tag-set key names. */
export interface EntryStore {
  get(key: string): Promise<Entry | undefined>;
  /** Stores an entry for `ttlMs` and records it under each tag set. */
  set(key: string, entry: Entry, ttlMs: number, tagKeys: readonly string[]): Promise<void>;
  /** Removes entries; returns how many existed, where the store can tell. */
  delete(keys: readonly string[]): Promise<number>;
  /** Removes every entry recorded under the tag sets, and the sets. */
  deleteTagged(tagKeys: readonly string[]): Promise<number>;
}
